"""Reviewers' verdicts on production runs, kept append-only in the store (ladder level 7).

Each verdict is one JSON line of ``<store>/reviews.jsonl``, appended under the store's lock, so
two reviewers writing at once both keep their verdicts; nothing is ever overwritten. A run's
current verdict is its latest line; the earlier ones stay as its history.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_opsladder.capture.run import utc_now
from pytest_opsladder.choices import parse_choice
from pytest_opsladder.store.errors import StoreConfigError
from pytest_opsladder.store.index import IndexReadStats, iter_index
from pytest_opsladder.store.layout import reviews_path
from pytest_opsladder.store.locking import append_jsonl


class Verdict(StrEnum):
    GOOD = "good"
    BAD = "bad"
    UNSURE = "unsure"

    @classmethod
    def parse(cls, value: str) -> Verdict:
        return parse_choice(cls, value, setting="verdict", error=StoreConfigError)


def default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def record_verdict(
    store: Path,
    run_id: str,
    verdict: Verdict,
    note: str = "",
    *,
    reviewer: str | None = None,
    promoted_to: str | None = None,
    clock: Callable[[], str] = utc_now,
) -> dict[str, Any]:
    """Append one verdict on ``run_id``; returns the record written."""
    record = {
        "run_id": run_id,
        "verdict": verdict.value,
        "note": note,
        "reviewer": reviewer or default_reviewer(),
        "at": clock(),
        "promoted_to": promoted_to,
    }
    append_jsonl(reviews_path(store), [record])
    return record


def read_reviews(
    store: Path, stats: IndexReadStats | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every verdict, grouped by run id, oldest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for record in iter_index(reviews_path(store), stats):
        out.setdefault(str(record.get("run_id")), []).append(record)
    return out
