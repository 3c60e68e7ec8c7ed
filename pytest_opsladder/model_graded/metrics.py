"""Judge scores as metrics of the run, derived from its ``judge`` events (ladder level 7).

``judge:<name>`` is the check's score (0/1 on a pass/fail scale; the mean when a run grades the
same check several times); a judge call that gave no verdict leaves it missing, never 0: None
in the run (a cassette is JSON, which has no NaN), NaN in the metrics table.
The judge's own usage is ``judge_tokens_in`` / ``judge_tokens_out`` / ``judge_calls``, apart
from the agent's ``tokens_in`` / ``tokens_out``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture.metrics import register_metrics_provider
from pytest_opsladder.model_graded.scope import JUDGE

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run


def judge_metrics(run: Run) -> dict[str, Any]:
    events = [e.data for e in run.events_of(JUDGE)]
    if not events:
        return {}
    scores: dict[str, list[float]] = {}
    for data in events:
        metric = str(data.get("metric") or f"judge:{data.get('name')}")
        score = data.get("score")
        scores.setdefault(metric, [])
        if isinstance(score, int | float) and not isinstance(score, bool):
            scores[metric].append(float(score))
    out: dict[str, Any] = {m: _mean(v) for m, v in scores.items()}
    out["judge_calls"] = len(events)
    out["judge_errors"] = sum(1 for d in events if d.get("error"))
    out["judge_tokens_in"] = _tokens(events, "input")
    out["judge_tokens_out"] = _tokens(events, "output")
    return out


def _mean(scores: list[float]) -> float | None:
    """The mean score; None (missing) with no score, or none finite to average."""
    mean = sum(scores) / len(scores) if scores else math.nan
    return mean if math.isfinite(mean) else None


def _tokens(events: list[dict[str, Any]], key: str) -> float:
    """The judge's tokens over its calls; NaN if a call's count is unknown (never 0)."""
    counts = [(d.get("usage") or {}).get(key) for d in events]
    known = [float(c) for c in counts if isinstance(c, int | float) and not isinstance(c, bool)]
    return float(sum(known)) if len(known) == len(counts) else math.nan


def binary_judge_metrics(run: Run) -> set[str]:
    """The judge metrics of ``run`` graded on a pass/fail scale (scored as pass/fail)."""
    return {
        str(e.data.get("metric"))
        for e in run.events_of(JUDGE)
        if (e.data.get("scale") or {}).get("kind") == "pass_fail"
    }


register_metrics_provider(judge_metrics)
