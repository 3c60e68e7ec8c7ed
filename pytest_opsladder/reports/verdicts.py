"""The closed sets of verdicts a results JSON carries (ladder level 7, continuous evaluation)."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pytest_opsladder.choices import parse_choice
from pytest_opsladder.reports.errors import ResultsFileError


class _ResultsEnum(StrEnum):
    @classmethod
    def parse(cls, value: object, *, where: str, path: object = None) -> Self:
        """The member for ``value``; the error names the key and lists the valid values."""
        if not isinstance(value, str | cls):
            value = repr(value)  # only strings are verdicts: 1 is not "1"
        return parse_choice(
            cls,
            value,
            setting=where,
            error=ResultsFileError,
            fix="This release does not know it: regenerate the results with a matching "
            f"pytest-opsladder (file: {path or '<in memory>'}).",
            path=str(path) if path else None,
            key=where,
        )


class GateVerdict(_ResultsEnum):
    """The gate's outcome: inconclusive when the sample cannot detect the margin."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class MetricVerdict(_ResultsEnum):
    """One metric's outcome; ``not_gated`` metrics are reported, never fail the gate."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_GATED = "not_gated"


class CaseVerdict(_ResultsEnum):
    """One case's outcome, as the per-case table filters it."""

    REGRESSED = "regressed"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    ERROR = "error"
    MISSING_BASELINE = "missing_baseline"
    MISSING_CANDIDATE = "missing_candidate"


class MetricType(_ResultsEnum):
    """Which plot a metric gets: ECDF for numeric, a rate change with its interval for binary."""

    BINARY = "binary"
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    TRAJECTORY = "trajectory"
    TEXT = "text"


# Regressions first, then errors, so a reviewer sees what broke before what did not.
CASE_ORDER = {
    CaseVerdict.REGRESSED: 0,
    CaseVerdict.ERROR: 1,
    CaseVerdict.MISSING_CANDIDATE: 2,
    CaseVerdict.MISSING_BASELINE: 3,
    CaseVerdict.IMPROVED: 4,
    CaseVerdict.UNCHANGED: 5,
}
