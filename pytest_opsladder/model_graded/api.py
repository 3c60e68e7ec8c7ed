"""``judge(...)``: a model-graded check inside a plain test (ladder level 7).

    from pytest_opsladder import judge

    def test_summary(opsladder_run, opsladder_agent):
        out = opsladder_agent(...)
        verdict = judge(out, "The summary states the post's main point in one sentence.",
                        name="one-sentence", path="summary")
        assert verdict.passed, verdict.reason

The call is recorded into the current run (and so into its cassette) and replayed from it.
"""

from __future__ import annotations

from typing import Any

from pytest_opsladder.model_graded.grading import JudgeResult, grade
from pytest_opsladder.model_graded.spec import JudgeModel, parse_spec


def judge(
    output: Any,
    rubric: str | None = None,
    *,
    name: str | None = None,
    rubric_file: str | None = None,
    path: str | None = None,
    scale: str | dict[str, int] | None = None,
    reference: str | None = None,
    model: str | dict[str, Any] | JudgeModel | None = None,
) -> JudgeResult:
    """Grade ``output`` against ``rubric`` with the judge model; see :mod:`.spec` for the
    arguments. Raises a :class:`~.errors.JudgeError` when the judge gives no usable verdict."""
    from pytest_opsladder.capture.run import current_run

    given = {
        "name": name,
        "rubric": rubric,
        "rubric_file": rubric_file,
        "path": path,
        "scale": scale,
        "reference": reference,
        "model": model,
    }
    spec = parse_spec({k: v for k, v in given.items() if v is not None})
    return grade(spec, output, current_run())
