"""One parser for every closed set of values: one wording, one error type, the area's class."""

from __future__ import annotations

import pytest

from pytest_opsladder.blast_radius.errors import BlastRadiusConfigError
from pytest_opsladder.blast_radius.limiter import FailMode
from pytest_opsladder.choices import InvalidChoiceError
from pytest_opsladder.drift.errors import GateConfigError
from pytest_opsladder.drift.gate import Worse
from pytest_opsladder.drift.match_modes import MatchMode
from pytest_opsladder.guardrails.approval_store import Answer
from pytest_opsladder.http.stale import SdkLevel
from pytest_opsladder.modes import Mode
from pytest_opsladder.reports.errors import ResultsFileError
from pytest_opsladder.reports.verdicts import GateVerdict
from pytest_opsladder.store.reviews import Verdict as ReviewVerdict

CASES = [
    (lambda: Mode.parse("playback", setting="opsladder mode"), Exception, "replay, record, shadow"),
    (lambda: FailMode.parse("ajar"), BlastRadiusConfigError, "open, closed"),
    (lambda: Worse.parse("sideways", key="worse"), GateConfigError, "lower, higher"),
    (lambda: MatchMode.parse("fuzzy"), ValueError, "strict, unordered, subset, superset"),
    (lambda: ReviewVerdict.parse("meh"), Exception, "good, bad, unsure"),
    (lambda: SdkLevel.parse("patch"), Exception, "major, minor, exact"),
    (lambda: GateVerdict.parse(1, where="verdict"), ResultsFileError, "pass, fail, inconclusive"),
]


@pytest.mark.parametrize(("parse", "area_error", "valid"), CASES)
def test_every_closed_set_raises_one_error_type_with_one_wording(
    parse: object, area_error: type[Exception], valid: str
) -> None:
    with pytest.raises(InvalidChoiceError) as caught:
        parse()  # type: ignore[operator]
    assert isinstance(caught.value, area_error)
    assert " is not a valid " in str(caught.value)
    assert f"Valid values are: {valid}" in str(caught.value)
    assert valid.startswith(caught.value.valid[0])


def test_members_and_their_text_parse_and_case_folds_only_where_asked() -> None:
    assert Mode.parse(Mode.RECORD, setting="m") is Mode.RECORD
    assert Answer.parse(" Approve ") is Answer.APPROVE
    assert SdkLevel.parse("MINOR") is SdkLevel.MINOR
    with pytest.raises(InvalidChoiceError, match="'Record' is not a valid opsladder mode"):
        Mode.parse("Record", setting="opsladder mode")
    with pytest.raises(GateConfigError) as caught:
        Worse.parse("up", key="metrics.cost.worse")
    assert caught.value.key == "metrics.cost.worse"
