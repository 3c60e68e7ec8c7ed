"""Ladder level 5: outbound actions default to draft; publishing needs an approval."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_opsladder.capture.boundary import ToolBoundary
from pytest_opsladder.capture.run import Run, activate
from pytest_opsladder.capture.tools import tool
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.rollback.drafts import Draft, Drafts, DraftStatus, draft_first, is_approved
from pytest_opsladder.rollback.errors import ApprovalDeniedError, DraftStateError


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, body: str) -> str:
        self.sent.append((to, body))
        return f"msg-{len(self.sent)}"


def test_calling_the_action_makes_a_draft_and_sends_nothing() -> None:
    outbox = Outbox()
    drafts = Drafts(lambda d: True)
    send = drafts.draft_first(outbox.send, name="send_email")
    draft = send("ann@example.com", body="hi")
    assert isinstance(draft, Draft)
    assert (draft.action, draft.args, draft.kwargs) == (
        "send_email",
        ("ann@example.com",),
        {"body": "hi"},
    )
    assert outbox.sent == []
    assert drafts.pending() == [draft]


def test_publishing_asks_the_approver_then_runs_once() -> None:
    outbox = Outbox()
    asked: list[Draft] = []
    drafts = Drafts(lambda d: asked.append(d) or True)
    draft = drafts.draft_first(outbox.send)("bob@example.com", "hello")
    assert draft.publish() == "msg-1"
    assert asked == [draft]
    assert draft.status is DraftStatus.PUBLISHED
    with pytest.raises(DraftStateError, match="published at most once"):
        draft.publish()
    assert outbox.sent == [("bob@example.com", "hello")]


def test_a_denial_keeps_the_draft_and_sends_nothing() -> None:
    outbox = Outbox()
    draft = Drafts(lambda d: "deny").draft_first(outbox.send)("x@example.com", "no")
    with pytest.raises(ApprovalDeniedError, match="'deny', which is not a clear yes"):
        draft.publish()
    assert outbox.sent == []
    assert draft.status is DraftStatus.DRAFT
    assert draft.publish(approver=lambda d: "approved") == "msg-1"


def test_without_an_approver_publishing_fails_closed() -> None:
    outbox = Outbox()
    draft = Drafts().draft_first(outbox.send)("x@example.com", "no")
    with pytest.raises(ApprovalDeniedError, match="none configured"):
        draft.publish()
    assert outbox.sent == []


@dataclass
class GateDecision:
    """Shaped like an approval gate's answer: a decision string."""

    decision: str


@pytest.mark.parametrize(
    ("answer", "approved"),
    [
        (True, True),
        (False, False),
        (None, False),
        ("allow", True),
        ("ask", False),
        (GateDecision("allow"), True),
        (GateDecision("deny"), False),
        (type("A", (), {"approved": True})(), True),
        (object(), False),
    ],
)
def test_any_approver_shape_is_understood_and_unclear_means_no(
    answer: object, approved: bool
) -> None:
    assert is_approved(answer) is approved


def test_concurrent_publishes_run_the_action_once() -> None:
    outbox = Outbox()
    gate = threading.Event()

    def slow_yes(d: Draft) -> bool:
        gate.wait(timeout=10)
        return True

    draft = Drafts(slow_yes).draft_first(outbox.send)("a@example.com", "once")
    errors: list[BaseException] = []

    def publish() -> None:
        try:
            draft.publish()
        except DraftStateError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=publish) for _ in range(5)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(timeout=10)
    assert len(outbox.sent) == 1
    assert len(errors) == 4


def test_a_failing_action_leaves_the_draft_publishable() -> None:
    calls = []

    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            raise ConnectionError("smtp down")
        return x

    draft = Drafts(lambda d: True).draft_first(flaky)(7)
    with pytest.raises(ConnectionError):
        draft.publish()
    assert draft.status is DraftStatus.DRAFT
    assert draft.publish() == 7


def test_async_actions_and_async_approvers() -> None:
    sent: list[str] = []

    async def post(text: str) -> str:
        sent.append(text)
        return "posted"

    async def approve(d: Draft) -> str:
        return "allow"

    draft = Drafts(approve).draft_first(post)("hello")
    assert asyncio.run(draft.apublish()) == "posted"
    assert sent == ["hello"]


def test_drafts_and_publishes_are_events_of_the_run_and_publish_goes_through_the_tool(
    tmp_path: Path,
) -> None:
    outbox = Outbox()

    @tool(outbound=True)
    def send_email(to: str, body: str) -> str:
        return outbox.send(to, body)

    send = draft_first(send_email, approver=lambda d: True)
    run = Run(Case("c"), Variant("v"))
    run.boundary = ToolBoundary()
    with activate(run):
        draft = send("c@example.com", "hi")
        assert run.events_of("tool_call") == []
        draft.publish()
    assert [e.data["action"] for e in run.events_of("draft")] == ["drafted", "published"]
    assert [e.name for e in run.events_of("tool_call")] == ["send_email"]
    assert draft.run_id == run.run_id
    assert send.drafts.pending() == []
    run.finish()
    assert (run.metrics["drafts_held"], run.metrics["drafts_published"]) == (1, 1)


def test_discarded_drafts_cannot_be_published() -> None:
    draft = Drafts(lambda d: True).draft_first(print)("x")
    draft.discard()
    with pytest.raises(DraftStateError, match="discarded"):
        draft.publish()


def test_the_guardrails_approval_gate_plugs_in(tmp_path: Path) -> None:
    from pytest_opsladder.guardrails.approval_gate import ApprovalGate
    from pytest_opsladder.guardrails.approval_store import ApprovalStore
    from pytest_opsladder.guardrails.errors import ApprovalRefused, ApprovalRequired
    from pytest_opsladder.rollback.approval import gate_approver

    outbox = Outbox()
    asked: list[object] = []
    answers = iter(["deny", "approve"])

    def human(request: object) -> str:
        asked.append(request)
        return next(answers)

    drafts = Drafts(gate_approver(ApprovalGate(None, human), run_key="r1"))
    draft = drafts.draft_first(outbox.send, name="send_email")("d@example.com", "hi")
    with pytest.raises(ApprovalRefused):
        draft.publish()
    assert outbox.sent == []
    assert draft.status is DraftStatus.DRAFT
    assert draft.publish() == "msg-1"
    assert [getattr(r, "tool", None) for r in asked] == ["send_email", "send_email"]

    waiting = Drafts(gate_approver(ApprovalGate(ApprovalStore(tmp_path / "a.db"), None)))
    pending = waiting.draft_first(outbox.send)("e@example.com", "later")
    with pytest.raises(ApprovalRequired):
        pending.publish()  # nobody answered yet: the request waits in the store
    assert pending.status is DraftStatus.DRAFT
    assert outbox.sent == [("d@example.com", "hi")]


def test_guardrails_answers_are_understood() -> None:
    from pytest_opsladder.guardrails.approval_store import Answer

    assert is_approved(Answer.APPROVE)
    assert is_approved(Answer.ALWAYS)
    assert not is_approved(Answer.DENY)
