"""Model-graded checks whose judge calls are recorded and replayed like the agent's (level 7).

The ``judge`` check of the case format and :func:`judge` for plain tests grade an output
against a rubric with a judge model (any OpenAI-compatible server, or Anthropic). Every judge
call is a ``judge`` event of the run, so a replay re-grades offline, for free and identically;
scores become ``judge:<name>`` metrics that the drift gate tests like any other.
"""

from __future__ import annotations

from pytest_opsladder.model_graded.api import judge
from pytest_opsladder.model_graded.errors import (
    JudgeConfigError,
    JudgeError,
    JudgeNotRecordedError,
    JudgeReplyError,
    JudgeUnavailableError,
)
from pytest_opsladder.model_graded.grading import JudgeResult
from pytest_opsladder.model_graded.spec import JudgeModel, configure_judge

__all__ = [
    "JudgeConfigError",
    "JudgeError",
    "JudgeModel",
    "JudgeNotRecordedError",
    "JudgeReplyError",
    "JudgeResult",
    "JudgeUnavailableError",
    "configure_judge",
    "judge",
]
