"""Event kinds of the Run (ladder level 0), and the registry later rungs add theirs to.

The core kinds live here; a rung that records its own events (a guardrail decision, an
idempotency hit, a breaker trip) calls :func:`register_event_kind` at import time instead of
editing this module. Emitting an unregistered kind is an error, so a typo never silently
creates a kind that no metric or report reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_opsladder.exceptions import UnknownEventKindError

LLM_CALL = "llm_call"
TOOL_CALL = "tool_call"
DECISION = "decision"
RETRY = "retry"
ERROR = "error"
LOG = "log"
HTTP = "http"

_KINDS: dict[str, str] = {
    LLM_CALL: "a request to a language model (model, usage, latency)",
    TOOL_CALL: "a call of a wrapped tool (name, call id, args, result or error)",
    DECISION: "a decision point of the agent (chosen, alternatives, reason)",
    RETRY: "a retried operation (attempt, reason)",
    ERROR: "an error the agent recovered from or died of (low-cardinality code)",
    LOG: "a structured log line (level, message)",
    HTTP: "an HTTP interaction seen by the recorder (method, url, status, outcome)",
}


def register_event_kind(kind: str, description: str) -> str:
    """Declare an event kind so it can be emitted; returns ``kind`` for use as a constant."""
    if not kind or not kind.replace("_", "").isalnum():
        raise ValueError(f"event kind {kind!r} must be a non-empty snake_case word")
    _KINDS.setdefault(kind, description)
    return kind


def known_event_kinds() -> dict[str, str]:
    """Every registered kind with its description."""
    return dict(_KINDS)


def check_event_kind(kind: str) -> None:
    """Raise :class:`UnknownEventKindError` unless ``kind`` is registered."""
    if kind not in _KINDS:
        valid = ", ".join(sorted(_KINDS))
        raise UnknownEventKindError(
            f"{kind!r} is not a registered event kind. Valid kinds are: {valid}. "
            "Register a new kind with pytest_opsladder.register_event_kind(kind, description)."
        )


@dataclass(slots=True)
class Event:
    """One thing that happened in a run, with its timing relative to the run's start."""

    seq: int
    kind: str
    name: str
    t_start: float
    t_end: float
    data: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None

    @property
    def duration(self) -> float:
        return self.t_end - self.t_start

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq,
            "kind": self.kind,
            "name": self.name,
            "t_start": round(self.t_start, 6),
            "t_end": round(self.t_end, 6),
            "data": self.data,
        }
        if self.call_id is not None:
            out["call_id"] = self.call_id
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        return cls(
            seq=int(raw["seq"]),
            kind=str(raw["kind"]),
            name=str(raw.get("name", "")),
            t_start=float(raw.get("t_start", 0.0)),
            t_end=float(raw.get("t_end", 0.0)),
            data=dict(raw.get("data") or {}),
            call_id=raw.get("call_id"),
        )
