"""The receipts spool's path (ladder level 1): a spool, or free; never someone else's file.

``monitors flush`` takes the whole spool file away (renaming it) and sets aside every line that
is not a receipt; ``send`` appends to it. Given another file by mistake (``--spool
reports/results.json``) they would take it apart, and given a directory a receipt would be lost
silently (the spool's write errors are swallowed, a receipt never fails its job). So a spool
path is checked when :class:`~pytest_opsladder.schedule.receipts.Receipts` is built, as its
target is.
"""

from __future__ import annotations

import json
from pathlib import Path

from pytest_opsladder._regular_file import FileProblem, Problem, read_head
from pytest_opsladder.schedule.errors import ScheduleConfigError

_RECEIPT_KEYS = frozenset({"monitor", "kind", "run_id", "sent_at", "message"})
_FIRST_LINE = 64 * 1024  # a receipt line is at most a few KiB


def checked_spool(spool: Path) -> Path:
    """A spool path that is free, or a spool: never someone's file, which flush would take
    away (its lines set aside as "not a receipt") and a send would append to."""
    try:
        head = read_head(spool, _FIRST_LINE)
    except FileProblem as exc:
        if exc.problem is Problem.MISSING:
            return spool
        what = exc.detail
    else:
        if _looks_spooled(head.split(b"\n", 1)[0]):
            return spool
        what = "holds something other than receipts (one JSON object a line)"
    raise ScheduleConfigError(
        f"the receipts spool {str(spool)!r} {what}. Nothing was sent, spooled or changed. "
        "Pass --spool a new path (or the spool an earlier send wrote), or leave it out for "
        "the default spool."
    )


def _looks_spooled(first: bytes) -> bool:
    """The first line of a spool: empty, a receipt-shaped JSON object (even one refused
    later), or a receipt cut by a crash mid-append (it starts as json.dumps writes one)."""
    if not first.strip() or first.startswith(b'{"monitor"'):
        return True
    try:
        line = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return isinstance(line, dict) and bool(line) and set(line) <= _RECEIPT_KEYS
