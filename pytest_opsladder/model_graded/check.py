"""The ``judge`` check of the nightmare-set case format (ladder level 7); see :mod:`.spec`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_opsladder.model_graded import metrics as _metrics  # noqa: F401 - registers the metrics
from pytest_opsladder.model_graded.grading import grade
from pytest_opsladder.model_graded.spec import parse_spec
from pytest_opsladder.nightmare.checks import register_check, register_validator

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run


@register_check("judge")
def judge_check(args: dict[str, Any], output: Any, run: Run) -> str | None:
    """None when the judge passes the output; else the score and the judge's reason."""
    spec = parse_spec(args)
    result = grade(spec, output, run)
    if result.passed:
        return None
    scale = spec.scale
    of = "" if scale.binary else f"/{scale.maximum} (passes at {scale.threshold})"
    return f"judge {spec.name!r} scored {result.score}{of}: {result.reason}"


@register_validator("judge")
def _validate(args: dict[str, Any]) -> None:
    parse_spec(args)
