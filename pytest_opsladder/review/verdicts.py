"""Recording a reviewer's verdict, and promoting a bad run, in one action (ladder level 7).

The page and the CLI both call :func:`review_run`, so a verdict given in the browser and one
given on the command line are the same record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_opsladder.review.lookup import run_file_for
from pytest_opsladder.store.errors import StoreConfigError
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
    """Record ``verdict`` on ``run_id``; with ``promote`` (bad only), add it to the set too."""
    parsed = Verdict.parse(verdict)
    promoted = None
    if promote:
        promoted = _promote(store, run_id, parsed, note, nightmare_dir, case_id)
    return record_verdict(store, run_id, parsed, note, reviewer=reviewer, promoted_to=promoted)


def _promote(
    store: Path, run_id: str, verdict: Verdict, note: str, root: Path, case_id: str | None
) -> str:
    from pytest_opsladder.nightmare.curate import promote_run

    if verdict is not Verdict.BAD:
        raise StoreConfigError(
            f"only a 'bad' verdict promotes a run to the nightmare set (got {verdict.value!r}); "
            "choose 'bad' or leave promotion off."
        )
    path = promote_run(
        root,
        run_file_for(run_id, store),
        reason=note or "marked bad in review",
        case_id=case_id,
        tags=["from-review"],
    )
    return str(path)
