"""Event kinds that ladder level 6 writes into the Run (registered at import)."""

from __future__ import annotations

from pytest_opsladder.capture.events import register_event_kind
from pytest_opsladder.capture.metrics import MetricFn, register_metric

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


def _count(kind: str) -> MetricFn:
    return lambda run: len(run.events_of(kind))


# Columns of the metrics table: how often a run hit the blast-radius controls.
register_metric("breaker_trips")(
    lambda run: sum(1 for e in run.events_of(BREAKER_STATE) if e.data.get("to") == "open")
)
register_metric("breaker_rejections")(_count(BREAKER_REJECTED))
register_metric("rate_limited_calls")(_count(RATE_LIMITED))
register_metric("pause_blocked_calls")(_count(PAUSE_BLOCKED))
register_metric("environment_violations")(_count(ENV_BLOCKED))
