"""Unit-testing a policy (ladder level 4): assertion helpers behind the ``opsladder_policy``
fixture, importable without pytest (``PolicyTester(load_policy(path))``)."""

from __future__ import annotations

from typing import Any

from pytest_opsladder.guardrails.policy import Policy, matches
from pytest_opsladder.guardrails.verdicts import Decision, Verdict

_NO_ARGS: Any = object()


class PolicyTester:
    """Decide calls under a policy and assert on the verdict, with the rule in the message.

    For a shell tool of the policy, ``args`` may be the command text itself. Leaving ``args``
    out means "no arguments"; ``None`` means the model sent ``null``.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def decide(self, tool: str, args: Any = _NO_ARGS) -> Decision:
        if isinstance(args, str) and matches(self.policy.shell.tools, tool):
            args = {self.policy.shell.arg: args}
        return self.policy.decide(tool, {} if args is _NO_ARGS else args)

    def assert_denied(
        self, tool: str, args: Any = _NO_ARGS, *, rule: str | None = None
    ) -> Decision:
        __tracebackhide__ = True
        return self._expect(Verdict.DENY, tool, args, rule)

    def assert_asks(self, tool: str, args: Any = _NO_ARGS, *, rule: str | None = None) -> Decision:
        __tracebackhide__ = True
        return self._expect(Verdict.ASK, tool, args, rule)

    def assert_allowed(
        self, tool: str, args: Any = _NO_ARGS, *, rule: str | None = None
    ) -> Decision:
        __tracebackhide__ = True
        return self._expect(Verdict.ALLOW, tool, args, rule)

    def _expect(self, verdict: Verdict, tool: str, args: Any, rule: str | None) -> Decision:
        __tracebackhide__ = True
        decision = self.decide(tool, args)
        if decision.verdict is not verdict or (rule is not None and decision.rule != rule):
            want = verdict.value + (f" by rule {rule!r}" if rule else "")
            raise AssertionError(
                f"expected {tool}({args!r}) to be {want} under {self.policy.source}, "
                f"but the policy says: {decision.line()}"
            )
        return decision
