"""Approval gates (ladder level 4): a call the policy says to ``ask`` about waits for a human.

The gate runs before the tool, so nothing happens until an answer arrives. Approvers are sync
(a callback, a terminal prompt) or async (the request is stored in an :class:`ApprovalStore`
and another process answers it later; the run stops with :class:`ApprovalPending` and the
re-run picks up the answer). Every answer is bound to one call id; ``always`` covers the same
tool for the rest of this run only, and never covers malformed arguments.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from pytest_opsladder.guardrails.approval_store import (
    Answer,
    ApprovalState,
    ApprovalStore,
    binding_of,
    canonical_args,
)
from pytest_opsladder.guardrails.errors import (
    ApprovalAlreadyUsed,
    ApprovalMismatch,
    ApprovalPending,
    ApprovalRefused,
    ApprovalRequired,
)
from pytest_opsladder.guardrails.verdicts import Decision


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What an approver is asked: which call, with which arguments, and why."""

    call_id: str
    binding: str
    tool: str
    args: Any
    decision: Decision

    def approve(self, answer: Answer | str = Answer.APPROVE) -> Approval:
        """An approval bound to this request (only this request accepts it)."""
        return Approval(self.call_id, self.binding, Answer.parse(answer))


@dataclass(frozen=True, slots=True)
class Approval:
    """An answer bound to one call: presenting it for another call is refused."""

    call_id: str
    binding: str
    answer: Answer


# An approver answers now (Answer, "approve"/"deny"/"always", True/False, an Approval) or
# returns None: no answer yet, the request stays pending in the store.
Approver = Callable[[ApprovalRequest], Any]


def prompt_approver(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> Approver:
    """Ask on a terminal: ``[y]es / [n]o / [a]lways``; anything else is no."""

    def ask(request: ApprovalRequest) -> Answer:
        out = stdout or sys.stderr
        out.write(
            f"\nopsladder: approve {request.tool}({canonical_args(request.args)[:200]})?\n"
            f"  because {request.decision.line()}\n  call id {request.call_id}\n"
            "  [y]es / [n]o / [a]lways for this tool in this run: "
        )
        out.flush()
        reply = ((stdin or sys.stdin).readline() or "n").strip().lower()
        return {"y": Answer.APPROVE, "yes": Answer.APPROVE, "a": Answer.ALWAYS}.get(
            reply, Answer.DENY
        )

    return ask


def call_id_for(run_key: str, tool: str, args: Any, occurrence: int) -> str:
    """Stable across restarts: the same run key, call and occurrence give the same id."""
    text = f"{run_key}\x00{tool}\x00{canonical_args(args)}\x00{occurrence}"
    return "appr_" + hashlib.sha256(text.encode()).hexdigest()[:24]


class ApprovalGate:
    """Resolves ``ask`` decisions: stored answer, standing ``always``, approver, or wait."""

    def __init__(
        self,
        store: ApprovalStore | None,
        approver: Approver | None,
        *,
        wait_s: float = 0.0,
        poll_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.approver = approver
        self.wait_s, self.poll_s, self.clock, self.sleep = wait_s, poll_s, clock, sleep
        self._seen: Counter[tuple[str, str, str]] = Counter()
        self._always: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def request_for(
        self, run_key: str, tool: str, args: Any, decision: Decision
    ) -> ApprovalRequest:
        key = (run_key, tool, canonical_args(args))
        with self._lock:
            self._seen[key] += 1
            occurrence = self._seen[key]
        call_id = call_id_for(run_key, tool, args, occurrence)
        return ApprovalRequest(call_id, binding_of(call_id, tool, args), tool, args, decision)

    def standing(self, run_id: str, identity: str, request: ApprovalRequest) -> bool:
        """An ``always`` given earlier in this run covers this call (not malformed ones)."""
        return not request.decision.manual and (run_id, identity) in self._always

    def resolve(self, request: ApprovalRequest, run_id: str, identity: str) -> str:
        """Return who approved; raise when refused, pending or already used."""
        row = self.store.get(request.call_id) if self.store else None
        if row is not None and row.binding != request.binding:
            raise _mismatch(request, "the stored request was made for other arguments")
        if row is not None and not row.intact:  # shown args edited: the approver saw a lie
            raise _mismatch(request, row.refusal())
        if row is not None and row.state is not ApprovalState.PENDING:
            return self._stored(request, row.state, row.answered_by or "the approval store")
        if self.store is not None and row is None:
            self.store.request(
                request.call_id, request.binding, request.tool, request.args,
                request.decision.rule, request.decision.reason,
            )  # fmt: skip
        answer = self._ask(request)
        if answer is None:
            return self._wait(request)
        return self._answered(request, answer, run_id, identity)

    def _ask(self, request: ApprovalRequest) -> Approval | None:
        if self.approver is None:
            return None
        reply = self.approver(request)
        if reply is None:
            return None
        if isinstance(reply, Approval):
            if (reply.call_id, reply.binding) != (request.call_id, request.binding):
                raise _mismatch(request, f"the approval was given for call {reply.call_id}")
            return reply
        if isinstance(reply, bool):
            reply = Answer.APPROVE if reply else Answer.DENY
        return request.approve(reply)

    def _answered(
        self, request: ApprovalRequest, approval: Approval, run_id: str, identity: str
    ) -> str:
        if approval.answer is Answer.DENY:
            if self.store is not None:
                self.store.answer(request.call_id, Answer.DENY, by="approver")
            raise _refused(request, "the approver")
        if approval.answer is Answer.ALWAYS and not request.decision.manual:
            self._always.add((run_id, identity))
        if self.store is not None:
            self.store.answer(request.call_id, Answer.APPROVE, by="approver")
            return self._stored(request, ApprovalState.APPROVED, "approver")
        return "approver"

    def _stored(self, request: ApprovalRequest, state: ApprovalState, by: str) -> str:
        if state is ApprovalState.DENIED:
            raise _refused(request, by)
        if state is ApprovalState.EXECUTED:
            raise ApprovalAlreadyUsed(
                f"{request.tool}: approval {request.call_id} was already used; the approved "
                "action ran once and never runs twice. A new action needs a new approval.",
                decision=request.decision,
            )
        if state is ApprovalState.PENDING:
            return self._wait(request)
        assert self.store is not None
        if not self.store.consume(request.call_id, request.binding):
            row = self.store.get(request.call_id)
            if row is not None and row.binding == request.binding and row.state is not state:
                return self._stored(request, row.state, by)  # another worker consumed it first
            raise _mismatch(request, "the approval could not be consumed for this exact call")
        return by

    def _wait(self, request: ApprovalRequest) -> str:
        deadline = self.clock() + self.wait_s
        while self.store is not None and self.clock() < deadline:
            self.sleep(self.poll_s)
            row = self.store.get(request.call_id)
            if row is not None and row.state is not ApprovalState.PENDING:
                return self._stored(request, row.state, row.answered_by or "the approval store")
        raise _pending(request, self.store)


def _pending(request: ApprovalRequest, store: ApprovalStore | None) -> ApprovalRequired:
    why = request.decision.line()
    if store is None:
        return ApprovalRequired(
            f"{request.tool}: needs approval ({why}) and no approver is configured. Give the "
            "guardrails an approver (callback or prompt) or an approval store.",
            decision=request.decision,
            call_id=request.call_id,
        )
    return ApprovalPending(
        f"{request.tool}: waiting for approval ({why}). Answer it with `opsladder policy "
        f"approve {request.call_id} --store {store.path}` and run again: the call resumes once.",
        decision=request.decision,
        call_id=request.call_id,
    )


def _refused(request: ApprovalRequest, by: str) -> ApprovalRefused:
    return ApprovalRefused(
        f"{request.tool}: {by} refused call {request.call_id} ({request.decision.line()})",
        decision=request.decision,
    )


def _mismatch(request: ApprovalRequest, why: str) -> ApprovalMismatch:
    return ApprovalMismatch(
        f"{request.tool}: refused an approval presented for call {request.call_id}: {why}. "
        "An approval binds to one call id and its exact arguments; it cannot be replayed.",
        decision=request.decision,
    )
