"""Score a metrics table into the results JSON, write it atomically, read it back (level 7).

:func:`score` is the one entry point of the shadow plugin and of ``opsladder merge``; the
document it returns follows docs/results-schema.md (schema version 1) field for field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_opsladder import _json
from pytest_opsladder._output import OutputFile
from pytest_opsladder.capture.run import utc_now
from pytest_opsladder.drift.cases import build_cases
from pytest_opsladder.drift.errors import ResultsSchemaError
from pytest_opsladder.drift.gate import GateConfig, overall_verdict
from pytest_opsladder.drift.scoring import (
    BINARY,
    NUMERIC,
    aa_noise_floor,
    add_unpaired_fallbacks,
    check_gate,
    diagnostics,
    metric_catalogue,
    prepare_table,
    score_metrics,
)
from pytest_opsladder.drift.stats import reduce_cases

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "pytest-opsladder/results"
SCHEMA_VERSION = 1
READABLE_VERSIONS = (1,)
_LIVE_KEYS = ("replayed", "recorded", "live", "blocked")


def score(
    table: pd.DataFrame,
    *,
    baseline: str,
    candidate: str,
    gate: GateConfig | None = None,
    case_meta: Mapping[str, Mapping[str, Any]] | None = None,
    first_divergences: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    live_calls: Mapping[str, int] | None = None,
    fingerprints: Mapping[str, Mapping[str, Any]] | None = None,
    include_text: bool = True,
    include_cases: bool = True,
    missing_baseline: Iterable[str] | Mapping[str, str] = (),
    missing_candidate: Mapping[str, str] | None = None,
    missing_epochs: Mapping[str, Iterable[int]] | None = None,
) -> dict[str, Any]:
    """The results document for one baseline/candidate comparison.

    ``table`` is :func:`~pytest_opsladder.drift.table.metrics_table` output (its ``role``
    column says which side a run is on); ``fingerprints`` maps ``"baseline"``/``"candidate"``
    to the variants' fingerprints; ``missing_baseline`` names cases that have no baseline and
    therefore no row in ``table`` (they count as lost pairs in the verdict), as a list or as
    case id -> reason; ``missing_candidate`` (case id -> reason) likewise for cases without a
    candidate run (skipped by the candidate's test); ``missing_epochs`` (case id -> epochs)
    names baseline epochs a paired case lacks (reported, not lost). Raises
    :class:`~.errors.UnknownGateMetricError` (a ConfigError) when the gate names a metric the
    table cannot score.
    """
    gate = gate or GateConfig.default()
    kinds = metric_catalogue(table, text=include_text)
    check_gate(gate, kinds)
    work, names = prepare_table(table)
    both, counts = _sides(work, names)
    lost = lost_cases(counts, missing_baseline, missing_candidate or {})
    sides = {"both": counts["both"]}
    for side in ("baseline", "candidate"):
        sides[f"missing_{side}"] = sorted(c for c, (s, _) in lost.items() if s == side)
    partial = _partial_epochs(missing_epochs or {}, set(counts["both"]))
    scored = work[both[work["case_id"].to_numpy()]]
    unchanged: dict[str, float] = {}
    metrics = _scored_metrics(scored, work, gate, kinds, sides, unchanged)
    verdict, reason = _overall(metrics, gate, sides, lost, partial)
    doc = _header(gate, verdict, reason, baseline, candidate, fingerprints, provenance)
    doc["epochs"], doc["n_cases"] = counts["epochs"], len(sides["both"])
    doc["cases_missing_baseline"] = sides["missing_baseline"]
    doc["cases_missing_candidate"] = sides["missing_candidate"]
    doc["cases_lost"] = {c: why for c, (_, why) in sorted(lost.items())}
    doc["cases_missing_baseline_epochs"] = partial
    cand_runs = table["role"] == "candidate"
    doc["candidate_errors"] = int((table.loc[cand_runs, "status"] == "error").sum())  # added
    doc["metrics"] = metrics
    doc["unchanged_metrics"] = [{"name": k, "value": v} for k, v in unchanged.items()]
    doc["n_decisive"] = _n_decisive(metrics)
    doc["diagnostics"] = diagnostics(scored, gate)
    doc["aa_noise_floor"] = aa_noise_floor(scored, gate, kinds)
    doc["live_calls"] = {k: int((live_calls or {}).get(k, 0)) for k in _LIVE_KEYS}
    numeric = [n for n, k in kinds.items() if k in (BINARY, NUMERIC)]
    base, cand = reduce_cases(scored, numeric)
    if include_cases:
        deltas = (cand - base).set_axis(names[cand.index.to_numpy(dtype=np.int64)], axis=0)
        metas, divergences = case_meta or {}, first_divergences or {}
        doc["cases"] = build_cases(table, deltas, numeric[1:], metas, divergences)
    out = _as_doc(_json_safe(doc | {"cases": doc.get("cases", [])}))
    # per-case values for the plots: already plain floats, so kept out of the recursive cleanup
    out["distributions"] = {
        n: {"baseline": _floats(base[n]), "candidate": _floats(cand[n])}
        for n in numeric
        if n not in unchanged
    }
    return out


def _scored_metrics(
    scored: pd.DataFrame,
    work: pd.DataFrame,
    gate: GateConfig,
    kinds: dict[str, str],
    sides: dict[str, list[str]],
    unchanged: dict[str, float],
) -> list[dict[str, Any]]:
    """Paired tests on the cases both sides ran; unpaired fallbacks when some ran on one side."""
    missing = len(sides["missing_baseline"]) + len(sides["missing_candidate"])
    metrics = score_metrics(scored, gate, kinds, missing_cases=missing, unchanged=unchanged)
    few = len(sides["both"]) < gate.min_cases
    if sides["missing_baseline"] or sides["missing_candidate"] or few:
        add_unpaired_fallbacks(metrics, work, kinds)
    return metrics


NO_BASELINE = "without a baseline cassette: record it with pytest --opsladder-mode=record"
NO_CANDIDATE = "without a candidate run"


def lost_cases(
    counts: Mapping[str, Any],
    missing_baseline: Iterable[str] | Mapping[str, str],
    missing_candidate: Mapping[str, str],
) -> dict[str, tuple[str, str]]:
    """Every case without a pair: case id -> (the side without a run, why). A case paired
    on some epoch is not lost."""
    paired = set(counts["both"])
    given = (
        dict(missing_baseline)
        if isinstance(missing_baseline, Mapping)
        else dict.fromkeys(missing_baseline, NO_BASELINE)
    )
    sides = (
        ("candidate", {**dict.fromkeys(counts["missing_candidate"], NO_CANDIDATE),
                       **missing_candidate}),
        ("baseline", {**dict.fromkeys(counts["missing_baseline"], NO_BASELINE), **given}),
    )  # fmt: skip
    return {c: (side, why) for side, reasons in sides for c, why in reasons.items()
            if c not in paired}  # fmt: skip


def _partial_epochs(missing: Mapping[str, Iterable[int]], paired: set[str]) -> dict[str, list[int]]:
    return {c: sorted(set(epochs)) for c, epochs in sorted(missing.items()) if c in paired}


def _overall(
    metrics: list[dict[str, Any]],
    gate: GateConfig,
    sides: dict[str, list[str]],
    lost: Mapping[str, tuple[str, str]],
    partial: Mapping[str, list[int]],
) -> tuple[str, str]:
    """The gate's verdict; with no paired case at all, inconclusive with what to do."""
    no_base, no_cand = len(sides["missing_baseline"]), len(sides["missing_candidate"])
    if not sides["both"]:
        verdict, reason = (
            "inconclusive",
            (
                f"no case has both a baseline and a candidate run ({no_base} case(s) without a "
                f"baseline, {no_cand} without a candidate): nothing to compare"
            ),
        )
        if not lost:
            reason += (". Record a baseline first: pytest --opsladder-mode=record, then rerun "
                       "with --opsladder-shadow")  # fmt: skip
    else:
        verdict, reason = overall_verdict([m for m in metrics if m["gated"]], gate)
    return verdict, reason + lost_note(lost) + epochs_note(partial)


def lost_note(lost: Mapping[str, tuple[str, str]]) -> str:
    """The lost cases counted by why, e.g. ``[63 case(s) lost: 60 skipped by the candidate's
    test, 3 its baseline cassette cannot be read; ...]``."""
    if not lost:
        return ""
    kinds: dict[str, int] = {}
    for _, why in lost.values():
        kind = why.split(" (", 1)[0].split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    counted = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda k: -k[1]))
    record = (
        "; record the missing baselines with pytest --opsladder-mode=record"
        if any(why == NO_BASELINE for _, why in lost.values())
        else ""
    )
    return f" [{len(lost)} case(s) lost: {counted}; each listed in cases_lost{record}]"


def epochs_note(partial: Mapping[str, list[int]]) -> str:
    """Paired cases whose baseline lacks epochs the candidate asked for: name them and the fix."""
    if not partial:
        return ""
    missing = sorted({e for epochs in partial.values() for e in epochs})
    wanted = missing[-1] + 1
    shown = ", ".join(str(e) for e in missing)
    return (
        f" [{len(partial)} case(s) have no baseline for epoch(s) {shown}, so those candidate "
        f"epochs were not run: record the baselines with pytest --opsladder-mode=record "
        f"--opsladder-epochs {wanted}, or run the candidate with the baseline's epochs]"
    )


def _n_decisive(metrics: list[dict[str, Any]]) -> int | None:
    """Cases that would let every gated metric reach a decision (the largest need)."""
    needs = [m.get("n_decisive") for m in metrics if m["gated"] and m["verdict"] == "inconclusive"]
    known = [n for n in needs if n]
    return max(known) if known else None


def _sides(work: pd.DataFrame, names: pd.Index[Any]) -> tuple[Any, dict[str, Any]]:
    """Which cases both sides ran (a mask over case codes), which one side lacks, and the
    epochs per side, from one bincount per role."""
    codes = work["case_id"].to_numpy()
    is_base = (work["role"] == "baseline").to_numpy()
    runs_b = np.bincount(codes[is_base], minlength=len(names))
    runs_c = np.bincount(codes[~is_base], minlength=len(names))
    both = (runs_b > 0) & (runs_c > 0)
    return both, {
        "both": names[both].tolist(),
        "missing_baseline": names[(runs_b == 0) & (runs_c > 0)].tolist(),
        "missing_candidate": names[(runs_b > 0) & (runs_c == 0)].tolist(),
        "epochs": {"baseline": int(runs_b.max(initial=0)), "candidate": int(runs_c.max(initial=0))},
    }


def _header(
    gate: GateConfig,
    verdict: str,
    reason: str,
    baseline: str,
    candidate: str,
    fingerprints: Mapping[str, Mapping[str, Any]] | None,
    provenance: Mapping[str, Any] | None,
) -> dict[str, Any]:
    fps = fingerprints or {}
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created_at": utc_now(),
        "alpha": gate.alpha,
        "verdict": verdict,
        "verdict_reason": reason,
        "baseline": {"name": baseline, "fingerprint": dict(fps.get("baseline") or {})},
        "candidate": {"name": candidate, "fingerprint": dict(fps.get("candidate") or {})},
        "provenance": dict(provenance or {}),
    }


def _floats(series: pd.Series[float]) -> list[float | None]:
    values = series.to_numpy(dtype=float)
    if np.isfinite(values).all():
        return list(values.tolist())
    return [None if not math.isfinite(v) else v for v in values.tolist()]


def _json_safe(value: Any) -> Any:
    """NaN and infinities become null; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _as_doc(value: Any) -> dict[str, Any]:
    assert isinstance(value, dict)
    return value


def write_results(doc: Mapping[str, Any], path: Path | str) -> Path:
    """Write atomically (temp file + rename): a reader never sees half a results file."""
    target = Path(path)
    with OutputFile(target, option="-o/--output") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False, default=str)
    return target


def load_results(path: Path | str) -> dict[str, Any]:
    """Read a results JSON; refuse another format or a schema version this release lacks."""
    source = Path(path)
    try:
        doc = _json.parse(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsSchemaError(
            f"cannot read results file {str(source)!r}: {exc}", path=source
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ResultsSchemaError(
            f"{source} is not a pytest-opsladder results file (its format is "
            f"{doc.get('format') if isinstance(doc, dict) else type(doc).__name__!r}, "
            f"expected {FORMAT!r})",
            path=source,
        )
    version = doc.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ResultsSchemaError(
            f"{source} has schema_version {version!r}; this release reads versions "
            f"{list(READABLE_VERSIONS)}. Re-run the shadow run or upgrade pytest-opsladder.",
            path=source,
        )
    return doc
