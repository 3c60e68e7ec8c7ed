"""Scoring a finished shadow session and writing its reports (ladder level 7).

Called once, on the controller, with everything the session collected: builds the metrics
table (one row per run), scores it against the gate, and writes the results JSON and the
reports into the report directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture.manifest import git_state, package_versions

if TYPE_CHECKING:
    from pytest_opsladder.drift.gate import GateConfig
    from pytest_opsladder.drift.shadow_collect import ShadowCollector
    from pytest_opsladder.settings import Settings


def live_calls(collector: ShadowCollector) -> dict[str, int]:
    """HTTP accounting of the candidate runs (run.extra["http"], written by the HTTP scope)."""
    totals = {"replayed": 0, "recorded": 0, "live": 0, "blocked": 0}
    for run, extra in zip(collector.runs, collector.extras, strict=True):
        if extra.get("role") != "candidate":
            continue
        for key, value in ((run.get("extra") or {}).get("http") or {}).items():
            if key in totals:
                totals[key] += int(value)
    return totals


def score_session(
    collector: ShadowCollector,
    settings: Settings,
    gate: GateConfig,
    finalize: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Score the session's pairs and write the reports; ``finalize`` may amend the results
    first (what the session covered: see :mod:`.session_coverage`)."""
    from pytest_opsladder.drift.results import score
    from pytest_opsladder.drift.table import metrics_table
    from pytest_opsladder.reports.writer import write_reports

    lost = lost_of(collector)
    table = metrics_table(
        collector.runs,
        extras=collector.extras,
        baseline=settings.baseline,
        prices=settings.extra.get("prices") or None,
    )
    candidate = settings.candidate
    baseline = settings.variant(settings.baseline)
    results = score(
        table,
        baseline=baseline.name,
        candidate=candidate.name,
        gate=gate,
        case_meta=collector.case_meta,
        first_divergences=collector.first_divergences,
        provenance={"packages": package_versions(), "git": git_state(str(settings.rootdir))},
        live_calls=live_calls(collector),
        fingerprints={"baseline": baseline.fingerprint(), "candidate": candidate.fingerprint()},
        **lost,
    )
    _add_case_outcomes(results, collector, table)
    if finalize is not None:
        finalize(results)
    out_dir = settings.report_dir or settings.rootdir / "reports"
    written = write_reports(results, out_dir)
    shard = settings.extra.get("shard")
    if shard:
        written["shard"] = write_session_shard(table, results, collector, settings, gate, shard)
    return results, written


def lost_of(collector: ShadowCollector) -> dict[str, Any]:
    """The session's cases without a pair, as :func:`~.results.score` takes them."""
    from pytest_opsladder.drift.results import NO_BASELINE

    missing = dict.fromkeys(collector.missing_baseline, NO_BASELINE)
    return {
        "missing_baseline": missing | collector.lost_on("baseline"),
        "missing_candidate": collector.lost_on("candidate"),
        "missing_epochs": dict(collector.missing_epochs),
    }


def write_session_shard(
    table: Any,
    results: dict[str, Any],
    collector: ShadowCollector,
    settings: Settings,
    gate: GateConfig,
    name: str,
) -> Path:
    """This CI job's runs, for ``opsladder merge`` to rescore with the other jobs' (paired)."""
    from pytest_opsladder.cassette.naming import safe_stem
    from pytest_opsladder.drift.shards import write_shard

    out_dir = settings.report_dir or settings.rootdir / "reports"
    return write_shard(
        out_dir / "shards" / f"{safe_stem(name)}.jsonl",
        table,
        baseline=results["baseline"]["name"],
        candidate=results["candidate"]["name"],
        gate=gate,
        extra={
            "case_meta": collector.case_meta,
            "first_divergences": collector.first_divergences,
            "live_calls": results.get("live_calls", {}),
            "provenance": results.get("provenance", {}),
            "lost": lost_of(collector),
        },
    )


def _add_case_outcomes(results: dict[str, Any], collector: ShadowCollector, table: Any) -> None:
    """Why each regressed case failed, what was skipped, which models had no price."""
    from pytest_opsladder.drift.outcome import regressed_cases

    results["regressed_cases"] = regressed_cases(
        collector.runs, collector.extras, collector.first_divergences
    )
    results["cases_skipped"] = dict(sorted(collector.skipped.items()))
    results["candidate_replayed"] = sorted(set(collector.candidate_replayed))
    results["unpriced_models"] = list(table.attrs.get("unpriced_models", []))
    failures = {str(r["case"]["id"]): e.get("failure") for r, e in
                zip(collector.runs, collector.extras, strict=True)
                if e.get("role") == "candidate" and e.get("failure")}  # fmt: skip
    for case in results.get("cases", []):
        if case.get("case_id") in failures:
            case.setdefault("failure", failures[case["case_id"]])
