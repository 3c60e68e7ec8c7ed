"""Event kinds that ladder level 6 writes into the Run (registered at import)."""

from __future__ import annotations

from pytest_opsladder.capture.events import register_event_kind

BREAKER_STATE = register_event_kind(
    "breaker_state", "a circuit breaker changed state (breaker, from, to, reason)"
)
BREAKER_REJECTED = register_event_kind(
    "breaker_rejected", "a circuit breaker failed a call fast without calling (breaker, state)"
)
RATE_LIMITED = register_event_kind(
    "rate_limited", "a rate limit refused a call (key, cost, retry_after, store)"
)
LIMITER_STORE_DOWN = register_event_kind(
    "limiter_store_down", "a limiter's store failed; the call was allowed or refused per policy"
)
PAUSE_BLOCKED = register_event_kind(
    "pause_blocked", "the global pause refused a side-effecting tool call (reason)"
)
ENV_BLOCKED = register_event_kind(
    "environment_blocked", "a call reached for another environment's target or credential"
)
