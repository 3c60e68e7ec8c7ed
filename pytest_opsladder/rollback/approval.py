"""Drafts published through the guardrails approval gate (ladder levels 5 and 4 together).

:func:`gate_approver` turns a guardrails :class:`~pytest_opsladder.guardrails.ApprovalGate`
into a drafts approver: publishing a draft becomes an ``ask`` the gate resolves, with its
stored answers, per-call binding and "executed once" bookkeeping. A refusal or a pending
approval raises the gate's own error from ``draft.publish()`` and the draft stays a draft.
The guardrails package is imported only when this is used.
"""

from __future__ import annotations

from typing import Any

from pytest_opsladder.rollback.drafts import Approver, Draft

RULE = "publish-draft"


def draft_call(draft: Draft) -> dict[str, Any]:
    """The draft's call as the gate binds it: positional and keyword arguments."""
    return {"args": list(draft.args), "kwargs": dict(draft.kwargs)}


def gate_approver(gate: Any, *, run_key: str | None = None) -> Approver:
    """An approver that asks ``gate`` (an ApprovalGate) before a draft is published."""
    from pytest_opsladder.guardrails.verdicts import Decision, Verdict

    def approve(draft: Draft) -> bool:
        reason = f"publishing draft {draft.id} of {draft.action!r} is an outbound action"
        decision = Decision(Verdict.ASK, RULE, reason)
        key = run_key or draft.run_id or "drafts"
        request = gate.request_for(key, draft.action, draft_call(draft), decision)
        gate.resolve(request, draft.run_id or key, draft.action)  # raises unless approved
        return True

    return approve
