"""Enforcing a policy at the tool boundary (ladder level 4).

:class:`Guardrails` is a tool guard: the foundation calls it before every wrapped tool call in
every mode (record, replay, shadow), so a denied call is stopped even when the result would
only have been replayed. Every decision is a ``guardrail_decision`` event in the run; approvals
are ``guardrail_approval`` events; denials feed the ``guardrail_denials`` metric.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture.boundary import register_tool_guard
from pytest_opsladder.capture.events import register_event_kind
from pytest_opsladder.capture.metrics import register_metric
from pytest_opsladder.guardrails.approval_gate import ApprovalGate, Approver
from pytest_opsladder.guardrails.approval_store import ApprovalStore
from pytest_opsladder.guardrails.errors import GuardrailDenied
from pytest_opsladder.guardrails.policy import Policy, matches
from pytest_opsladder.guardrails.verdicts import Decision, Verdict

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.tools import ToolSpec

GUARDRAIL_DECISION = register_event_kind(
    "guardrail_decision", "a guardrail policy decided a tool call (verdict, rule, reason)"
)
GUARDRAIL_APPROVAL = register_event_kind(
    "guardrail_approval", "an approval gate outcome for a tool call (call id, outcome, by)"
)
GUARDRAIL_INPUT = register_event_kind(
    "guardrail_input", "an input restriction decided untrusted input (source, verdict, rule)"
)


@register_metric("guardrail_denials")
def guardrail_denials(run: Run) -> int:
    """Tool calls and inputs a guardrail denied: a rising count is drift worth a look."""
    kinds = (GUARDRAIL_DECISION, GUARDRAIL_INPUT)
    return sum(1 for e in run.events if e.kind in kinds and e.data.get("verdict") == "deny")


@register_metric("guardrail_asks")
def guardrail_asks(run: Run) -> int:
    return sum(1 for e in run.events_of(GUARDRAIL_DECISION) if e.data.get("verdict") == "ask")


class Guardrails:
    """A policy, an approval gate, and the guard that applies them to tool calls.

    ``run_key`` names the logical run for approvals (default: case id and variant), so that a
    re-run after a restart finds the answers given to the first attempt. With
    ``scoped_only=True`` only the tools a rule names are guarded and other calls pass
    untouched, without an event: that is how the built-in default policy is enforced where a
    project configured none, guarding its shell and SQL tools and nothing else.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        approver: Approver | None = None,
        store: ApprovalStore | str | Path | None = None,
        run_key: str | Callable[[Run], str] | None = None,
        approve_outbound: bool | None = None,
        scoped_only: bool = False,
        **gate_options: Any,
    ) -> None:
        self.policy = policy
        self.scoped_only = scoped_only
        if store is not None and not isinstance(store, ApprovalStore):
            store = ApprovalStore(store)
        self.gate = ApprovalGate(store, approver, **gate_options)
        self.run_key = run_key
        self.approve_outbound = (
            policy.approve_outbound if approve_outbound is None else approve_outbound
        )

    def __call__(self, run: Run, spec: ToolSpec, args: dict[str, Any]) -> None:
        """The tool guard: returns to let the call run, raises to stop it."""
        if self.scoped_only and not any(matches(r.tools, spec.name) for r in self.policy.rules):
            return
        decision = self.decide(spec.name, args, outbound=spec.outbound)
        run.emit(GUARDRAIL_DECISION, spec.name, {**decision.to_dict(), "policy": self.policy.name})
        if decision.verdict is Verdict.DENY:
            raise GuardrailDenied(
                f"{spec.name}: denied by rule {decision.rule!r} of policy {self.policy.source}: "
                f"{decision.reason}. Only the policy file can change this, not the prompt.",
                decision=decision,
            )
        if decision.verdict is Verdict.ASK:
            self._approve(run, spec, args, decision)

    def decide(self, tool: str, args: Any, *, outbound: bool = False) -> Decision:
        decision = self.policy.decide(tool, args)
        if outbound and self.approve_outbound and decision.verdict is Verdict.ALLOW:
            why = f"{tool} is outbound (a side effect on the outside world); a human approves it"
            return Decision(Verdict.ASK, "approve-outbound", why)
        return decision

    def _approve(self, run: Run, spec: ToolSpec, args: dict[str, Any], decision: Decision) -> None:
        key = self._key(run)
        request = self.gate.request_for(key, spec.name, args, decision)
        identity = f"{spec.name}:{getattr(spec.fn, '__module__', '')}.{spec.fn.__qualname__}"
        data = {"call_id": request.call_id, "rule": decision.rule}
        if self.gate.standing(run.run_id, identity, request):
            run.emit(GUARDRAIL_APPROVAL, spec.name, {**data, "outcome": "approved", "by": "always"})
            return
        try:
            by = self.gate.resolve(request, run.run_id, identity)
        except Exception as exc:
            outcome = {**data, "outcome": type(exc).__name__, "message": str(exc)[:300]}
            run.emit(GUARDRAIL_APPROVAL, spec.name, outcome)
            raise
        run.emit(GUARDRAIL_APPROVAL, spec.name, {**data, "outcome": "approved", "by": by})

    def _key(self, run: Run) -> str:
        if callable(self.run_key):
            return self.run_key(run)
        return self.run_key or f"{run.case.id}\x00{run.variant.name}"

    def install(self, run: Run) -> Callable[[], None]:
        """Guard one run's tool calls; returns a function that removes the guard."""
        if run.boundary is None:
            raise ValueError(f"{run!r} has no tool boundary; install after the run has started")
        guards = run.boundary.guards
        guards.append(self)
        return lambda: guards.remove(self) if self in guards else None

    @contextmanager
    def enforce(self) -> Iterator[Guardrails]:
        """Guard every run's tool calls inside the block (a global tool guard)."""
        remove = register_tool_guard(self)
        try:
            yield self
        finally:
            remove()
