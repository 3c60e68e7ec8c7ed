"""Ladder level 5 fixtures, end to end through pytester, with and without xdist."""

from __future__ import annotations

import pytest

XDIST = [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="xdist")]

TESTS = """
import pytest
from pytest_opsladder.rollback.errors import ApprovalDeniedError


def test_trash_is_isolated(opsladder_trash, tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("a")
    entry = opsladder_trash.delete(f)
    assert opsladder_trash.root.parent == tmp_path
    opsladder_trash.restore(entry)
    assert f.read_text() == "a"


def test_backups(opsladder_backups, tmp_path):
    f = tmp_path / "b.txt"
    f.write_text("good")
    opsladder_backups.snapshot(f)
    f.write_text("bad")
    opsladder_backups.restore(f)
    assert f.read_text() == "good"


def test_audit_log(opsladder_audit_log):
    opsladder_audit_log.append({"action": "x"})
    assert opsladder_audit_log.verify().ok


def test_drafts_with_the_recording_approver(opsladder_drafts, opsladder_approver):
    sent = []
    send = opsladder_drafts.draft_first(sent.append)
    draft = send("hi")
    assert sent == []
    opsladder_approver.answer = "deny"
    with pytest.raises(ApprovalDeniedError):
        draft.publish()
    opsladder_approver.answer = True
    draft.publish()
    assert sent == ["hi"]
    assert len(opsladder_approver.asked) == 2
"""


@pytest.mark.parametrize("args", XDIST)
def test_rollback_fixtures(pytester: pytest.Pytester, args: list[str]) -> None:
    pytester.makepyfile(test_l5=TESTS)
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_fixtures_are_listed_with_their_docs(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "*opsladder_trash*",
            "*opsladder_backups*",
            "*opsladder_audit_log*",
            "*opsladder_approver*",
            "*opsladder_drafts*",
        ]
    )
