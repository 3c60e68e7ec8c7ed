"""Verdicts and decisions of ladder level 4: deny > ask > allow, the strictest one wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pytest_opsladder.choices import parse_choice
from pytest_opsladder.exceptions import ConfigError


class Verdict(StrEnum):
    """What a guardrail says about an action. Ordered by strictness: allow < ask < deny."""

    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"

    @classmethod
    def parse(cls, value: object, *, setting: str = "decision") -> Verdict:
        return parse_choice(cls, value, setting=setting, error=ConfigError)

    @property
    def strictness(self) -> int:
        return _STRICTNESS[self]


_STRICTNESS = {Verdict.ALLOW: 0, Verdict.ASK: 1, Verdict.DENY: 2}


@dataclass(frozen=True, slots=True)
class Decision:
    """One verdict with the rule that produced it and why.

    ``manual`` marks an ``ask`` that only a per-call human answer may clear (malformed
    arguments): a standing "always" approval does not cover it.
    """

    verdict: Verdict
    rule: str
    reason: str
    manual: bool = False

    def line(self) -> str:
        """The CLI form: the verdict first, then the deciding rule and why."""
        return f"{self.verdict.value} {self.rule}: {self.reason}"

    def to_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict.value, "rule": self.rule, "reason": self.reason}


def strictest(decisions: Iterable[Decision]) -> Decision | None:
    """The strictest decision; among equals the first, so rule order explains ties.

    Specificity never matters: a broad ``deny`` beats a narrow ``allow``. A ``manual`` ask is
    kept over a plain ask so that malformed arguments always need a per-call answer.
    """
    best: Decision | None = None
    for decision in decisions:
        if best is None or _outranks(decision, best):
            best = decision
    return best


def _outranks(new: Decision, old: Decision) -> bool:
    if new.verdict.strictness != old.verdict.strictness:
        return new.verdict.strictness > old.verdict.strictness
    return new.manual and not old.manual
