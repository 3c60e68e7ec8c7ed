"""Ladder level 4: guardrails as code.

Policies (TOML, YAML or Python) decide every tool call allow / ask / deny, the strictest
matching decision winning; shell and SQL arguments are parsed and checked for destructive
forms; ``ask`` pauses the call at an approval gate; untrusted input is screened. Enforcement
happens at the tool boundary, in every mode, never in the prompt.
"""

from __future__ import annotations

from pytest_opsladder.guardrails.approval_gate import (
    Approval,
    ApprovalGate,
    ApprovalRequest,
    Approver,
    prompt_approver,
)
from pytest_opsladder.guardrails.approval_store import Answer, ApprovalState, ApprovalStore
from pytest_opsladder.guardrails.enforce import (
    GUARDRAIL_APPROVAL,
    GUARDRAIL_DECISION,
    GUARDRAIL_INPUT,
    Guardrails,
)
from pytest_opsladder.guardrails.errors import (
    ApprovalAlreadyUsed,
    ApprovalMismatch,
    ApprovalPending,
    ApprovalRefused,
    ApprovalRequired,
    GuardrailDenied,
    GuardrailError,
    InputRejected,
    PolicyError,
    PolicyExampleError,
)
from pytest_opsladder.guardrails.input_screen import screen_input, screened
from pytest_opsladder.guardrails.policy import Policy
from pytest_opsladder.guardrails.policy_load import example_results, load_policy, policy_from_dict
from pytest_opsladder.guardrails.verdicts import Decision, Verdict

__all__ = [
    "GUARDRAIL_APPROVAL",
    "GUARDRAIL_DECISION",
    "GUARDRAIL_INPUT",
    "Answer",
    "Approval",
    "ApprovalAlreadyUsed",
    "ApprovalGate",
    "ApprovalMismatch",
    "ApprovalPending",
    "ApprovalRefused",
    "ApprovalRequest",
    "ApprovalRequired",
    "ApprovalState",
    "ApprovalStore",
    "Approver",
    "Decision",
    "GuardrailDenied",
    "GuardrailError",
    "Guardrails",
    "InputRejected",
    "Policy",
    "PolicyError",
    "PolicyExampleError",
    "Verdict",
    "example_results",
    "load_policy",
    "policy_from_dict",
    "prompt_approver",
    "screen_input",
    "screened",
]
