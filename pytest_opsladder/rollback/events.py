"""Event kinds that ladder level 5 writes into the Run (registered at import)."""

from __future__ import annotations

from pytest_opsladder.capture.events import register_event_kind
from pytest_opsladder.capture.metrics import MetricFn, register_metric

DRAFT = register_event_kind(
    "draft", "an outbound action kept as a draft, published or discarded (draft_id, action)"
)
TRASH = register_event_kind(
    "trash", "an item moved to or restored from the trash (entry, original path, action)"
)
BACKUP = register_event_kind(
    "backup", "an artifact snapshotted or restored to its last known good (path, snapshot)"
)
AUDIT = register_event_kind("audit", "an entry appended to the tamper-evident audit log (seq)")


def _count(kind: str, action: str) -> MetricFn:
    return lambda run: sum(1 for e in run.events_of(kind) if e.data.get("action") == action)


# Columns of the metrics table: how much of a run was held back or made reversible.
register_metric("drafts_held")(_count(DRAFT, "drafted"))
register_metric("drafts_published")(_count(DRAFT, "published"))
register_metric("items_trashed")(_count(TRASH, "trashed"))
register_metric("backups_restored")(_count(BACKUP, "restored"))
