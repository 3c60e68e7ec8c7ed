"""Event kinds that ladder level 5 writes into the Run (registered at import)."""

from __future__ import annotations

from pytest_opsladder.capture.events import register_event_kind

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
