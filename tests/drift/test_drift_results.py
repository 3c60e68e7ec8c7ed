"""score() end to end on real run records: the results JSON contract and every bad input."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest
from scipy import stats

from pytest_opsladder.drift.errors import ResultsSchemaError
from pytest_opsladder.drift.gate import parse_gate_config
from pytest_opsladder.drift.results import load_results, score, write_results
from pytest_opsladder.drift.table import metrics_table

GATE = parse_gate_config(
    {
        "pass_rate": {"worse": "lower", "margin": 0.0},
        "latency": {"worse": "higher", "margin": "10%"},
        "trajectory": {"worse": "higher", "margin": 0.0},
    }
)
TOP_KEYS = {
    "format", "schema_version", "created_at", "alpha", "verdict", "verdict_reason", "baseline",
    "candidate", "provenance", "epochs", "n_cases", "cases_missing_baseline",
    "cases_missing_candidate", "metrics", "diagnostics", "aa_noise_floor", "distributions",
    "live_calls", "cases", "unchanged_metrics", "n_decisive", "cases_lost",
    "cases_missing_baseline_epochs",
}  # fmt: skip
METRIC_KEYS = {
    "name", "type", "gated", "worse", "margin", "margin_kind", "test", "alternative",
    "statistic", "p_value", "p_adjusted", "effect", "extra", "mde", "n", "baseline_summary",
    "candidate_summary", "verdict", "reason",
    # the two one-sided tests of a gated metric and what would decide it (issue 21)
    "p_value_pass", "p_adjusted_pass", "p_value_pass_worst_case", "bound", "mde_method",
    "n_decisive", "n_lost", "inconclusive_reason",
}  # fmt: skip
RUN_KEYS = {
    "run_id", "epoch", "status", "passed", "failed_checks", "output_text", "trajectory",
    "judges", "metrics", "divergences", "error",
}  # fmt: skip


def _regressing(i: int, e: int) -> dict:
    """Every third case fails on the candidate and takes a different route."""
    if i % 3 == 0:
        return {"passed": False, "tools": ["search", "escalate"], "latency": 1.5}
    return {"latency": 1.0 + 0.01 * e}


def _score(runs, **kw):
    return score(metrics_table(runs), baseline="prod", candidate="next", gate=GATE, **kw)


def test_document_follows_the_schema_and_regressions_come_first(paired_runs) -> None:
    runs = paired_runs(12, cand=_regressing)
    doc = _score(
        runs,
        case_meta={"case-003": {"tags": ["billing"], "severity": "high"}},
        first_divergences={"case-003": {"step": 1, "kind": "tool"}},
        live_calls={"live": 12, "replayed": 24},
        provenance={"python": "3.11"},
    )
    assert set(doc) == TOP_KEYS | {"candidate_errors"}
    assert doc["format"] == "pytest-opsladder/results"
    assert doc["schema_version"] == 1
    assert doc["n_cases"] == 12
    assert doc["epochs"] == {"baseline": 1, "candidate": 1}
    assert doc["live_calls"] == {"replayed": 24, "recorded": 0, "live": 12, "blocked": 0}
    for metric in doc["metrics"]:
        assert set(metric) == METRIC_KEYS, metric["name"]
    verdicts = [c["verdict"] for c in doc["cases"]]
    assert verdicts[:4] == ["regressed"] * 4
    assert set(verdicts[4:]) == {"unchanged"}
    assert doc["cases"][0]["case_id"] == "case-003"  # severity high first among regressions
    assert doc["cases"][0]["first_divergence"] == {"step": 1, "kind": "tool"}
    assert doc["cases"][0]["tags"] == ["billing"]
    assert doc["cases"][0]["metric_deltas"]["pass_rate"] == -1.0
    run = doc["cases"][0]["candidate"]["runs"][0]
    assert set(run) == RUN_KEYS
    assert [s["tool"] for s in run["trajectory"]] == ["search", "escalate"]
    traj = next(m for m in doc["metrics"] if m["name"] == "trajectory")
    assert traj["extra"]["exact_match_rate_candidate"] == pytest.approx(8 / 12)
    assert len(doc["distributions"]["latency_s"]["baseline"]) == 12
    json.dumps(doc, allow_nan=False)  # strict JSON: no NaN anywhere


def test_a_clear_regression_fails_the_gate(paired_runs) -> None:
    runs = paired_runs(30, cand=lambda i, e: {"passed": i % 2 == 1, "latency": 2.0})
    doc = _score(runs)
    assert doc["verdict"] == "fail"
    gated = {m["name"]: m["verdict"] for m in doc["metrics"] if m["gated"]}
    assert gated["pass_rate"] == "fail"
    assert gated["latency_s"] == "fail"


def test_case_without_baseline_is_reported_not_scored(paired_runs, make_run) -> None:
    runs = [*paired_runs(6), make_run("orphan", "next", role="candidate")]
    doc = _score(runs)
    assert doc["cases_missing_baseline"] == ["orphan"]
    assert doc["n_cases"] == 6
    assert doc["cases"][-1]["case_id"] == "orphan"
    assert doc["cases"][-1]["verdict"] == "missing_baseline"


def test_differing_case_sets_score_the_intersection(paired_runs, make_run) -> None:
    runs = [
        *paired_runs(6),
        make_run("only-base", "prod", role="baseline"),
        make_run("only-cand", "next", role="candidate"),
    ]
    doc = _score(runs)
    assert doc["cases_missing_candidate"] == ["only-base"]
    assert doc["cases_missing_baseline"] == ["only-cand"]
    assert all(m["n"] == 6 for m in doc["metrics"] if m["name"] != "cost")
    cost = next(m for m in doc["metrics"] if m["name"] == "cost")
    assert cost["n"] == 0  # no price table given: every cost is unknown, none is made up
    pass_rate = next(m for m in doc["metrics"] if m["name"] == "pass_rate")
    unpaired = pass_rate["extra"]["unpaired"]  # every case of each side, as independent samples
    assert unpaired["test"] == "fisher_exact"
    assert (unpaired["n_baseline"], unpaired["n_candidate"]) == (7, 7)
    assert unpaired["p_value"] == stats.fisher_exact([[7, 0], [7, 0]]).pvalue
    latency = next(m for m in doc["metrics"] if m["name"] == "latency_s")
    assert latency["extra"]["unpaired"]["test"] == "mann_whitney_u"


def test_candidate_errors_are_counted_and_shown(paired_runs) -> None:
    boom = RuntimeError("candidate raised")
    runs = paired_runs(6, cand=lambda i, e: {"error": boom, "passed": False} if i < 2 else {})
    doc = _score(runs)
    assert doc["candidate_errors"] == 2
    errored = [c for c in doc["cases"] if c["verdict"] == "error"]
    assert len(errored) == 2
    assert errored[0]["candidate"]["runs"][0]["error"]["message"] == "candidate raised"
    status = next(m for m in doc["metrics"] if m["name"] == "status")
    assert status["extra"]["candidate_shares"]["error"] == pytest.approx(2 / 6)
    codes = {d["key"] for d in doc["diagnostics"] if d["group"] == "error_code"}
    assert codes == {"RuntimeError", "none"}


def test_nan_metrics_are_dropped_pairwise_and_never_written_as_nan(paired_runs) -> None:
    runs = paired_runs(8)
    for run in runs[:4]:
        run["metrics"]["latency_s"] = None
        run["manifest"]["duration_s"] = None  # metrics are derived on read: make it unknowable
    doc = _score(runs)
    latency = next(m for m in doc["metrics"] if m["name"] == "latency_s")
    assert latency["n"] == 6
    assert latency["extra"]["dropped_nan"] == 2
    assert None in doc["distributions"]["latency_s"]["baseline"]
    json.dumps(doc, allow_nan=False)


def test_all_equal_samples_give_p_1_and_no_warning(paired_runs) -> None:
    runs = paired_runs(10, epochs=2)
    loose = parse_gate_config(
        {"pass_rate": {"worse": "lower", "margin": 0.25}, "latency": {"worse": "higher"}}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = score(metrics_table(runs), baseline="prod", candidate="next", gate=loose)
    for metric in doc["metrics"]:
        assert metric["p_value"] == 1.0, metric["name"]
        assert metric["effect"]["estimate"] in (0.0, None), metric["name"]
    # nothing varies, so nothing can be shown: inconclusive, never a pass by default
    assert doc["verdict"] == "inconclusive"
    latency = next(m for m in doc["metrics"] if m["name"] == "latency_s")
    assert "constant (1) in both arms" in latency["reason"]
    unchanged = {u["name"]: u["value"] for u in doc["unchanged_metrics"]}
    assert unchanged["tokens_in"] == 100.0
    assert "tokens_in" not in {m["name"] for m in doc["metrics"]}
    assert "tokens_in" not in doc["distributions"]


def test_fewer_than_five_cases_is_inconclusive_with_the_reason(paired_runs) -> None:
    doc = _score(paired_runs(3, cand=lambda i, e: {"passed": False}))
    assert doc["verdict"] == "inconclusive"
    assert "only 3 case(s)" in doc["verdict_reason"]


def test_aa_noise_floor_needs_two_baseline_epochs(paired_runs) -> None:
    assert _score(paired_runs(6))["aa_noise_floor"] is None
    doc = _score(paired_runs(6, epochs=2))
    aa = doc["aa_noise_floor"]
    assert aa["epochs_split"] == [1, 1]
    assert {m["name"] for m in aa["metrics"]} == {"pass_rate", "latency_s", "trajectory"}
    assert aa["false_alarms"] == 0
    assert doc["epochs"] == {"baseline": 2, "candidate": 2}
    pass_rate = next(m for m in doc["metrics"] if m["name"] == "pass_rate")
    assert pass_rate["test"] == "sign_flip_permutation"


def test_write_is_atomic_and_load_round_trips(tmp_path: Path, paired_runs) -> None:
    doc = _score(paired_runs(6))
    path = write_results(doc, tmp_path / "reports" / "results.json")
    assert load_results(path) == json.loads(json.dumps(doc))
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temp file left


def test_loader_refuses_unknown_schema_versions_and_other_files(tmp_path: Path) -> None:
    future = tmp_path / "future.json"
    future.write_text(json.dumps({"format": "pytest-opsladder/results", "schema_version": 99}))
    with pytest.raises(
        ResultsSchemaError, match=r"schema_version 99.*reads versions \[1\]"
    ) as info:
        load_results(future)
    assert "future.json" in str(info.value)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ResultsSchemaError, match="not a pytest-opsladder results file"):
        load_results(other)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ResultsSchemaError, match=r"broken\.json"):
        load_results(broken)


def test_text_drift_uses_the_noise_floor(paired_runs) -> None:
    runs = paired_runs(
        8,
        epochs=2,
        base=lambda i, e: {"output": f"Refund issued for order {i}."},
        cand=lambda i, e: {"output": f"I cannot help with order {i}, sorry."},
    )
    doc = _score(runs)
    text = next(m for m in doc["metrics"] if m["name"] == "output_text")
    assert text["type"] == "text"
    assert text["extra"]["noise_floor_available"] is True
    assert text["effect"]["estimate"] > 0.3
    assert not math.isnan(text["p_value"])
