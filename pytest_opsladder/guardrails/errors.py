"""Errors of ladder level 4 (guardrails as code), under the package's one hierarchy.

ConfigError
└── PolicyError                  a policy file or dict is invalid (names the file and rule)
    └── PolicyExampleError       a policy's own example is not decided as it claims
GuardrailError (OpsladderError)  a tool call or input was stopped by a guardrail
├── GuardrailDenied              the policy denies the call
├── ApprovalRequired             the call needs a human's approval and none was given
│   └── ApprovalPending          the request is stored; answer it, then resume the run
├── ApprovalRefused              an approver said no
├── ApprovalMismatch             an approval was presented for a different call
├── ApprovalAlreadyUsed          the approved call already ran once; it never runs twice
└── InputRejected                untrusted input was refused before it reached the agent
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_opsladder.exceptions import ConfigError, OpsladderError

if TYPE_CHECKING:
    from pytest_opsladder.guardrails.verdicts import Decision


class PolicyError(ConfigError):
    """A policy is invalid; ``source`` is the file (or ``<python>``), ``rule`` the rule id."""

    def __init__(self, message: str, *, source: str, rule: str | None = None) -> None:
        where = f"{source}" + (f", rule {rule!r}" if rule else "")
        super().__init__(f"{where}: {message}")
        self.source = source
        self.rule = rule


class PolicyExampleError(PolicyError):
    """A policy example expected one verdict and the policy decided another."""


class GuardrailError(OpsladderError):
    """A guardrail stopped something; ``decision`` says which rule and why."""

    def __init__(self, message: str, *, decision: Decision | None = None) -> None:
        super().__init__(message)
        self.decision = decision


class GuardrailDenied(GuardrailError):
    """The policy denies this tool call."""


class ApprovalRequired(GuardrailError):
    """The call needs approval and no approver gave it."""

    def __init__(self, message: str, *, decision: Decision | None, call_id: str) -> None:
        super().__init__(message, decision=decision)
        self.call_id = call_id


class ApprovalPending(ApprovalRequired):
    """The approval request is stored; once answered, re-running resumes the call."""


class ApprovalRefused(GuardrailError):
    """An approver refused the call."""


class ApprovalMismatch(GuardrailError):
    """An approval bound to one call was presented for another."""


class ApprovalAlreadyUsed(GuardrailError):
    """The approved call already ran; an approval executes its action exactly once."""


class InputRejected(GuardrailError):
    """Untrusted input was refused by an input restriction."""
