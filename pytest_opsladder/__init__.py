"""pytest-opsladder: production discipline for AI agents, as a pytest plugin and a small runtime.

Ladder level 0 (run capture) is the spine: every rung writes its events into the current
:class:`Run`, and every finished run is a cassette that replays offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_opsladder.capture.boundary import register_tool_guard
from pytest_opsladder.capture.context import ContextThreadPoolExecutor, propagate_to_threads
from pytest_opsladder.capture.events import Event, register_event_kind
from pytest_opsladder.capture.jsonable import register_encoder
from pytest_opsladder.capture.llm import llm_call
from pytest_opsladder.capture.metrics import register_metric
from pytest_opsladder.capture.recorder import RunRecorder
from pytest_opsladder.capture.run import Run, RunStatus, current_run, emit, require_run
from pytest_opsladder.capture.scopes import register_run_scope
from pytest_opsladder.capture.tools import decision, tool
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.http.llm_providers import LlmProvider, register_llm_provider
from pytest_opsladder.model_graded.api import judge
from pytest_opsladder.model_graded.spec import JudgeModel, configure_judge
from pytest_opsladder.modes import Mode, RecordMode
from pytest_opsladder.settings import SessionSettings

if TYPE_CHECKING:
    from pytest_opsladder.capture.production import capture
    from pytest_opsladder.settings import session_settings as settings
else:
    # Callable modules (see callable_module.py): ``capture(...)`` and ``settings(config)`` call
    # the functions, while ``import pytest_opsladder.capture.run`` and ``.settings`` still work.
    import pytest_opsladder.capture as capture
    import pytest_opsladder.settings as settings

__version__ = "0.1.0"

__all__ = [
    "Case",
    "ContextThreadPoolExecutor",
    "Event",
    "JudgeModel",
    "LlmProvider",
    "Mode",
    "RecordMode",
    "Run",
    "RunRecorder",
    "RunStatus",
    "SessionSettings",
    "Variant",
    "__version__",
    "capture",
    "configure_judge",
    "current_run",
    "decision",
    "emit",
    "judge",
    "llm_call",
    "propagate_to_threads",
    "register_encoder",
    "register_event_kind",
    "register_llm_provider",
    "register_metric",
    "register_run_scope",
    "register_tool_guard",
    "require_run",
    "settings",
    "tool",
]
