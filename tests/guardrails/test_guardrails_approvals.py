"""Approval gates: pause before the side effect, bind to the call id, persist, run once."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder import Case, Mode, RecordMode, Run, RunRecorder, Variant, tool
from pytest_opsladder.guardrails import (
    GUARDRAIL_APPROVAL,
    Answer,
    ApprovalAlreadyUsed,
    ApprovalMismatch,
    ApprovalPending,
    ApprovalRefused,
    ApprovalRequest,
    ApprovalRequired,
    ApprovalState,
    ApprovalStore,
    Guardrails,
    policy_from_dict,
    prompt_approver,
)

POLICY = {
    "rules": [
        {"id": "send-asks", "tools": ["gr_send_*"], "decision": "ask"},
        {"id": "search-ok", "tools": ["gr_search"], "decision": "allow"},
    ]
}
SENT: list[dict[str, Any]] = []


@tool(name="gr_send_email", outbound=True)
def send_email(to: str, body: Any = "") -> str:
    SENT.append({"to": to, "body": body})
    return "sent"


@tool(name="gr_search")
def search(query: str) -> list[str]:
    return [query]


@pytest.fixture(autouse=True)
def _no_sent() -> Iterator[None]:
    SENT.clear()
    yield
    SENT.clear()


def open_run(case: str = "ticket-1") -> RunRecorder:
    return RunRecorder(Case(case), Variant("v"), None, mode=Mode.RECORD, record_mode=RecordMode.ALL)


class Answers:
    """A callback approver that records what it was asked."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.asked: list[ApprovalRequest] = []

    def __call__(self, request: ApprovalRequest) -> Any:
        self.asked.append(request)
        return self.answers.pop(0) if self.answers else None


def guarded(approver: Any = None, **kw: Any) -> Guardrails:
    return Guardrails(policy_from_dict(POLICY), approver=approver, **kw)


def approvals(run: Run) -> list[dict[str, Any]]:
    return [e.data for e in run.events_of(GUARDRAIL_APPROVAL)]


def test_an_approved_call_runs_after_the_approver_says_yes() -> None:
    answers = Answers(Answer.APPROVE)
    with open_run() as run:
        guarded(answers).install(run)
        assert send_email("a@example.com", "hi") == "sent"
    assert SENT == [{"to": "a@example.com", "body": "hi"}]
    assert answers.asked[0].tool == "gr_send_email"
    assert answers.asked[0].decision.rule == "send-asks"
    assert approvals(run)[0]["outcome"] == "approved"


def test_a_refused_call_never_runs() -> None:
    with open_run() as run:
        guarded(Answers(False)).install(run)
        with pytest.raises(ApprovalRefused, match="refused"):
            send_email("a@example.com")
    assert SENT == []
    assert approvals(run)[0]["outcome"] == "ApprovalRefused"


def test_without_an_approver_the_call_stops_before_its_side_effect() -> None:
    with open_run() as run:
        guarded().install(run)
        with pytest.raises(ApprovalRequired, match="no approver is configured"):
            send_email("a@example.com")
    assert SENT == []


def test_allowed_calls_do_not_ask() -> None:
    answers = Answers()
    with open_run() as run:
        guarded(answers).install(run)
        search("x")
    assert answers.asked == []


def test_each_approval_covers_one_call_only() -> None:
    answers = Answers("approve", None)
    with open_run() as run:
        guarded(answers).install(run)
        send_email("a@example.com")
        with pytest.raises(ApprovalRequired):
            send_email("a@example.com")  # the same arguments again: a new call, a new approval
    assert len(SENT) == 1
    assert answers.asked[0].call_id != answers.asked[1].call_id


def test_always_binds_to_the_tool_for_this_run_only() -> None:
    answers = Answers("always", None)
    guard = guarded(answers)
    with open_run() as run:
        guard.install(run)
        send_email("a@example.com")
        send_email("b@example.com")
        send_email("c@example.com")
    assert len(answers.asked) == 1
    assert [a["by"] for a in approvals(run)] == ["approver", "always", "always"]
    with open_run() as second:
        guard.install(second)
        with pytest.raises(ApprovalRequired):
            send_email("d@example.com")
    assert len(answers.asked) == 2
    assert len(SENT) == 3


def test_always_does_not_cover_malformed_arguments() -> None:
    answers = Answers("always", None)
    with open_run() as run:
        guarded(answers).install(run)
        send_email("a@example.com")
        with pytest.raises(ApprovalRequired):
            send_email("b@example.com", body=math.nan)
    assert answers.asked[1].decision.rule == "malformed-arguments"
    assert len(SENT) == 1


def test_an_approval_for_one_call_is_refused_for_another() -> None:
    first: list[ApprovalRequest] = []

    def replaying(request: ApprovalRequest) -> Any:
        first.append(request)
        return first[0].approve()  # always presents the first call's approval

    with open_run() as run:
        guarded(replaying).install(run)
        send_email("a@example.com", "refund 5")
        with pytest.raises(ApprovalMismatch, match="cannot be replayed"):
            send_email("attacker@example.net", "refund 5000")
    assert SENT == [{"to": "a@example.com", "body": "refund 5"}]


def test_a_stored_approval_does_not_unlock_a_different_call(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path / "approvals.sqlite")
    guard = guarded(store=store, run_key="ticket-9")
    with open_run() as run:
        guard.install(run)
        with pytest.raises(ApprovalPending) as pending:
            send_email("a@example.com")
    store.answer(pending.value.call_id, "approve", by="alice")
    with open_run() as run:
        guarded(store=store, run_key="ticket-9").install(run)
        with pytest.raises(ApprovalPending):
            send_email("other@example.net")  # not the approved call
    assert SENT == []


def test_a_tampered_store_row_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "approvals.sqlite"
    store = ApprovalStore(path)
    with open_run() as run:
        guarded(store=store, run_key="k").install(run)
        with pytest.raises(ApprovalPending) as pending:
            send_email("a@example.com")
    with sqlite3.connect(path) as db:  # someone moves another call's digest onto this row
        db.execute("UPDATE approvals SET binding = 'forged', state = 'approved'")
    with open_run() as run:
        guarded(store=store, run_key="k").install(run)
        with pytest.raises(ApprovalMismatch):
            send_email("a@example.com")
    assert pending.value.call_id.startswith("appr_")
    assert SENT == []


def test_an_async_answer_from_another_process_is_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "approvals.sqlite"
    store = ApprovalStore(path)
    now = [0.0]

    def sleep(seconds: float) -> None:  # the other process answers while the gate waits
        now[0] += seconds
        (row,) = store.pending()
        cli = [sys.executable, "-m", "pytest_opsladder.cli", "policy", "approve", row.call_id]
        subprocess.run([*cli, "--store", str(path), "--by", "bob"], check=True)

    guard = guarded(store=store, wait_s=5, poll_s=1, clock=lambda: now[0], sleep=sleep)
    with open_run() as run:
        guard.install(run)
        send_email("a@example.com")
    assert len(SENT) == 1
    assert approvals(run)[0]["by"] == "bob"
    row = store.get(approvals(run)[0]["call_id"])
    assert row is not None
    assert row.state is ApprovalState.EXECUTED


AGENT = """
import sys
from pytest_opsladder import Case, Mode, RecordMode, RunRecorder, Variant, tool
from pytest_opsladder.guardrails import (
    ApprovalAlreadyUsed, ApprovalPending, Guardrails, policy_from_dict,
)

store, sent = sys.argv[1], sys.argv[2]

@tool(name="gr_send_email", outbound=True)
def send_email(to, body):
    with open(sent, "a") as f:
        f.write(to + "\\n")
    return "sent"

rules = [{"id": "send-asks", "tools": ["gr_send_*"], "decision": "ask"}]
guard = Guardrails(policy_from_dict({"rules": rules}), store=store, run_key="ticket-42")
rec = RunRecorder(
    Case("ticket-42"), Variant("v"), None, mode=Mode.RECORD, record_mode=RecordMode.ALL
)
try:
    with rec as run:
        guard.install(run)
        send_email("customer@example.com", "your refund")
except ApprovalPending as exc:
    print("PENDING", exc.call_id)
    sys.exit(3)
except ApprovalAlreadyUsed:
    print("ALREADY")
    sys.exit(4)
print("SENT")
"""


def test_a_run_resumes_after_a_restart_and_runs_the_action_exactly_once(tmp_path: Path) -> None:
    script = tmp_path / "agent.py"
    script.write_text(textwrap.dedent(AGENT))
    store, sent = tmp_path / "approvals.sqlite", tmp_path / "sent.txt"

    def agent() -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, str(script), str(store), str(sent)]
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    first = agent()
    assert first.returncode == 3, first.stderr
    call_id = first.stdout.split()[1]
    assert not sent.exists()
    cli = [sys.executable, "-m", "pytest_opsladder.cli", "policy"]
    listing = subprocess.run(
        [*cli, "approvals", "--store", str(store)], capture_output=True, text=True, check=True
    )
    assert call_id in listing.stdout
    subprocess.run([*cli, "approve", call_id, "--store", str(store)], check=True)
    second = agent()
    assert second.stdout.strip() == "SENT", second.stderr
    third = agent()
    assert third.stdout.strip() == "ALREADY", third.stderr
    assert sent.read_text() == "customer@example.com\n"


def test_answering_a_closed_request_is_an_error(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path / "a.sqlite")
    with pytest.raises(Exception, match="no such request"):
        store.answer("appr_missing", "approve")
    with pytest.raises(Exception, match="not a valid answer"):
        store.answer("appr_missing", "maybe")


@pytest.mark.parametrize(
    ("typed", "sent", "error"),
    [("y\n", 1, None), ("n\n", 0, ApprovalRefused), ("a\n", 1, None), ("", 0, ApprovalRefused)],
)
def test_the_cli_prompt_approver(typed: str, sent: int, error: Any) -> None:
    shown = io.StringIO()
    approver = prompt_approver(stdin=io.StringIO(typed), stdout=shown)
    with open_run() as run:
        guarded(approver).install(run)
        if error:
            with pytest.raises(error):
                send_email("a@example.com")
        else:
            send_email("a@example.com")
    assert len(SENT) == sent
    assert "approve gr_send_email" in shown.getvalue()
    assert "send-asks" in shown.getvalue()


def test_two_workers_racing_for_one_approval_run_the_action_once(tmp_path: Path) -> None:
    import threading

    store = ApprovalStore(tmp_path / "approvals.sqlite")
    with open_run("ticket-7") as run:
        guarded(store=store).install(run)
        with pytest.raises(ApprovalPending) as pending:
            send_email("a@example.com")
    store.answer(pending.value.call_id, "approve")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        with open_run("ticket-7") as run:
            guarded(store=store).install(run)
            barrier.wait()
            try:
                send_email("a@example.com")
                outcomes.append("sent")
            except ApprovalAlreadyUsed:
                outcomes.append("already used")

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already used", "sent"]
    assert len(SENT) == 1


def test_a_deny_from_another_process_refuses_the_waiting_call(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path / "approvals.sqlite")
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        ApprovalStore(store.path).answer(store.pending()[0].call_id, "deny", by="carol")

    guard = guarded(store=store, wait_s=3, poll_s=1, clock=lambda: now[0], sleep=sleep)
    with open_run() as run:
        guard.install(run)
        with pytest.raises(ApprovalRefused, match="carol refused"):
            send_email("a@example.com")
    assert SENT == []


# -- issue 15: what is shown is what runs; the store fails closed --------------------------
def pending_call(store: ApprovalStore, to: str = "a@example.com") -> str:
    with open_run() as run:
        guarded(store=store, run_key="k15").install(run)
        with pytest.raises(ApprovalPending) as pending:
            send_email(to, "refund 5")
    return pending.value.call_id


def policy_cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest_opsladder.cli", "policy", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("column", "value"),
    [("args", '{"body":"refund 5","to":"friend@example.net"}'), ("tool", "gr_search")],
)
def test_an_edited_pending_row_is_refused_by_listing_approve_and_gate(
    tmp_path: Path, column: str, value: str
) -> None:
    import sqlite3

    from pytest_opsladder.guardrails.approval_store import ApprovalRowMismatch

    path = tmp_path / "approvals.sqlite"
    store = ApprovalStore(path)
    call_id = pending_call(store)
    with sqlite3.connect(path) as db:  # change what the approver would be shown
        db.execute(f"UPDATE approvals SET {column} = ?", (value,))
    db.close()
    listing = policy_cli("approvals", "--store", str(path))
    assert listing.returncode == 1
    assert value not in listing.stdout  # never shown as if it were what runs
    assert f"REFUSED approval {call_id}" in listing.stderr
    approve = policy_cli("approve", call_id, "--store", str(path))
    assert approve.returncode == 2
    assert call_id in approve.stderr
    assert "Traceback" not in approve.stderr
    with pytest.raises(ApprovalRowMismatch):
        store.answer(call_id, "approve")
    with open_run() as run:
        guarded(Answers("approve"), store=store, run_key="k15").install(run)
        with pytest.raises(ApprovalMismatch, match="was edited"):
            send_email("a@example.com", "refund 5")
    assert SENT == []
    assert store.answer(call_id, "deny") is ApprovalState.DENIED  # denying stays possible


def test_an_intact_listing_shows_the_arguments_that_will_run(tmp_path: Path) -> None:
    path = tmp_path / "approvals.sqlite"
    call_id = pending_call(ApprovalStore(path))
    listing = policy_cli("approvals", "--store", str(path))
    assert listing.returncode == 0
    assert f'{call_id} gr_send_email {{"body":"refund 5","to":"a@example.com"}}' in listing.stdout


@pytest.mark.parametrize("when", ["pending", "approved", "executed"])
def test_a_deleted_store_means_every_call_asks_again(tmp_path: Path, when: str) -> None:
    path = tmp_path / "approvals.sqlite"
    store = ApprovalStore(path)
    call_id = pending_call(store)
    if when != "pending":
        store.answer(call_id, "approve")
    if when == "executed":
        with open_run() as run:
            guarded(store=store, run_key="k15").install(run)
            send_email("a@example.com", "refund 5")
    sent_before = len(SENT)
    path.unlink()
    assert pending_call(ApprovalStore(path)) == call_id  # asked again, nothing ran
    assert len(SENT) == sent_before


def _corrupt(path: Path) -> None:
    path.write_bytes(b"garbage, not SQLite " * 200)


def _directory(path: Path) -> None:
    path.mkdir()


def _fifo(path: Path) -> None:
    import os

    os.mkfifo(path)


def _loop(path: Path) -> None:
    path.symlink_to(path)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_corrupt, "not a database"),
        (_directory, "not a regular file"),
        (_fifo, "not a regular file"),
        (_loop, "cannot be used"),
    ],
    ids=["corrupt", "directory", "fifo", "unreadable"],
)
def test_a_damaged_store_fails_closed_with_a_named_error(
    tmp_path: Path, damage: Any, says: str
) -> None:
    from pytest_opsladder.guardrails.approval_store import ApprovalStoreError

    path = tmp_path / "approvals.sqlite"
    store = ApprovalStore(path)
    pending_call(store)
    path.unlink()
    damage(path)
    with open_run() as run:
        guarded(Answers("approve"), store=store, run_key="k15").install(run)
        with pytest.raises(ApprovalStoreError, match=says):
            send_email("a@example.com", "refund 5")
    assert SENT == []
    listing = policy_cli("approvals", "--store", str(path))
    assert listing.returncode == 2
    assert says in listing.stderr
    assert "Traceback" not in listing.stderr


_FULL_DISK = """
import resource, signal, sys
from pytest_opsladder.guardrails.approval_store import ApprovalStore, ApprovalStoreError
store = ApprovalStore(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
try:
    store.request("appr_1", "b", "gr_send_email", {"to": "x" * 5000}, "send-asks", "why")
except ApprovalStoreError as exc:
    print("refused:", exc)
"""


def test_a_full_disk_stores_no_request_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "approvals.sqlite"
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(path)], capture_output=True, text=True, timeout=60
    )
    assert "refused:" in done.stdout, done.stderr
    assert ApprovalStore(path).pending() == []


def test_the_listing_shows_the_whole_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_opsladder.cli import main
    from pytest_opsladder.guardrails.approval_store import binding_of

    store = ApprovalStore(tmp_path / "a.sqlite")
    args = {"to": "a@example.com", "body": "x" * 300 + " and wire 5000 to acct 42"}
    store.request("appr_long", binding_of("appr_long", "gr_send_email", args), "gr_send_email",
                  args, "send-asks", "outbound")  # fmt: skip
    assert main(["policy", "approvals", "--store", str(tmp_path / "a.sqlite")]) == 0
    assert "and wire 5000 to acct 42" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["approvals"], ["approve", "call-1"], ["deny", "call-1"]])
def test_an_operator_command_at_a_missing_store_says_so_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    # seen: `policy approvals --store aprovals.sqlite` (a typo) printed "0 pending", exit 0,
    # and created an empty store there, while the real requests kept waiting
    typo = tmp_path / "aprovals.sqlite"
    result = policy_cli(*command, "--store", str(typo))
    assert result.returncode == 2
    assert f"no approvals store at {str(typo)!r}: the file does not exist" in result.stderr
    assert "0 pending" not in result.stdout
    assert not typo.exists()
