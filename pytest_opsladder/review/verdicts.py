"""Recording a reviewer's verdict, and promoting a bad run, in one action (ladder level 7).

The page and the CLI both call :func:`review_run`, so a verdict given in the browser and one
given on the command line are the same record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_opsladder.exceptions import OpsladderError
from pytest_opsladder.review.lookup import run_file_for
from pytest_opsladder.store.errors import StoreConfigError, StoreError
from pytest_opsladder.store.reviews import Verdict, record_verdict


def review_run(
    store: Path,
    run_id: str,
    verdict: str,
    note: str = "",
    *,
    reviewer: str | None = None,
    promote: bool = False,
    nightmare_dir: Path = Path("nightmare_set"),
    case_id: str | None = None,
) -> dict[str, Any]:
    """Record ``verdict`` on ``run_id`` (a run of the store: a mistyped id is refused); with
    ``promote`` (bad only), add it to the set too. A promotion that fails never loses the
    verdict: it is recorded, then :class:`PromotionError` says why the run was not added."""
    parsed = Verdict.parse(verdict)
    if promote and parsed is not Verdict.BAD:
        raise StoreConfigError(
            f"only a 'bad' verdict promotes a run to the nightmare set (got {parsed.value!r}); "
            "choose 'bad' or leave promotion off."
        )
    run_file = run_file_for(run_id, store)  # refuses an id that is no run of the store
    promoted, failure = None, None
    if promote:
        try:
            promoted = _promote(run_file, note, nightmare_dir, case_id)
        except OpsladderError as exc:
            failure = exc
    record = record_verdict(store, run_id, parsed, note, reviewer=reviewer, promoted_to=promoted)
    if failure is not None:
        raise PromotionError(
            f"recorded {parsed.value!r} for run {run_id}, but did not promote it: {failure}",
            record=record,
        ) from failure
    return record


class PromotionError(StoreError):
    """The verdict was recorded; adding the run to the nightmare set failed (the reason)."""

    def __init__(self, message: str, *, record: dict[str, Any]) -> None:
        super().__init__(message)
        self.record = record


def _promote(run_file: Path, note: str, root: Path, case_id: str | None) -> str:
    from pytest_opsladder.nightmare.curate import promote_run

    path = promote_run(
        root, run_file, reason=note or "marked bad in review", case_id=case_id, tags=["from-review"]
    )
    return str(path)
