"""The idempotency rung's event kinds and metrics in the Run (ladder level 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_opsladder.capture.events import register_event_kind
from pytest_opsladder.capture.metrics import register_metric

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run

IDEMPOTENCY_HIT = register_event_kind(
    "idempotency_hit", "a repeat returned the stored result (or stored error); nothing executed"
)
IDEMPOTENCY_EXECUTE = register_event_kind(
    "idempotency_execute", "a key was claimed and its action executed (first run or takeover)"
)
IDEMPOTENCY_MISMATCH = register_event_kind(
    "idempotency_mismatch", "a key was reused with a different payload; nothing executed"
)
IDEMPOTENCY_IN_PROGRESS = register_event_kind(
    "idempotency_in_progress", "another caller held the key's lock; nothing executed"
)
IDEMPOTENCY_UNRECORDED = register_event_kind(
    "idempotency_unrecorded",
    "a key's action may have run but no result is recorded; it is never run again by itself",
)
IDEMPOTENCY_STORE_DOWN = register_event_kind(
    "idempotency_store_down", "the idempotency store failed; on_store_error decided the outcome"
)
UNDECLARED_WRITE = register_event_kind(
    "undeclared_write", "an outbound tool the workflow did not declare was skipped (a no-op)"
)


@register_metric("idempotency_hits")
def _hits(run: Run) -> int:
    return len(run.events_of(IDEMPOTENCY_HIT))


@register_metric("undeclared_writes")
def _undeclared(run: Run) -> int:
    return len(run.events_of(UNDECLARED_WRITE))
