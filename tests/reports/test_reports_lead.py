"""What the first screen says about cases and metrics, from results old and new producers write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_opsladder.reports.case_reasons import case_reasons, divergence_words, short_diff
from pytest_opsladder.reports.lead import counts, metric_groups, pass_rate
from pytest_opsladder.reports.sample import sample_results
from pytest_opsladder.reports.writer import write_reports


def _case(verdict: str, **candidate: Any) -> dict[str, Any]:
    run = {"passed": verdict != "regressed", "failed_checks": [], **candidate}
    return {"case_id": "c1", "verdict": verdict, "candidate": {"runs": [run]}, "baseline": {}}


def test_reasons_read_assertion_messages_checks_and_errors_in_any_form() -> None:
    case = _case(
        "regressed",
        failure_message="AssertionError: assert 'refund' in 'sorry'",
        failed_checks=["contains: refund", {"check": "max_len: 80", "failure": "93 > 80"}],
        error={"type": "TimeoutError", "message": "model took 30 s"},
    )
    assert case_reasons(case) == [
        "AssertionError: assert 'refund' in 'sorry'",
        "contains: refund",
        "max_len: 80: 93 > 80",
        "error: TimeoutError: model took 30 s",
    ]
    assert case_reasons(_case("regressed")) == [
        "no failed check recorded (the pass/fail outcome changed)"
    ]
    assert case_reasons({"case_id": "x", "verdict": "missing_candidate"})[0].startswith(
        "no candidate"
    )


def test_divergences_read_as_sentences() -> None:
    step = {"step": 1, "baseline": {"tool": "refund"}, "candidate": {"tool": "send_email"}}
    assert (
        divergence_words({**step, "kind": "tool"}) == "call #1: called send_email instead of refund"
    )
    assert "the candidate stopped" in divergence_words({**step, "kind": "missing_call"})
    args = {
        "step": 2,
        "kind": "args",
        "baseline": {"tool": "t", "args": {"q": "a" * 60 + " end one", "n": 1}},
        "candidate": {"tool": "t", "args": {"q": "a" * 60 + " end two", "n": 1}},
    }
    words = divergence_words(args)
    assert words.startswith("call #2 t: q ")
    assert "end one" in words
    assert "end two" in words
    assert divergence_words(None) == ""


def test_short_diff_marks_what_changed_within_a_budget() -> None:
    diff = short_diff("the refund was issued today " * 40, "the refund was denied today " * 40)
    assert ("del", "issued") in diff
    assert ("ins", "denied") in diff
    assert sum(len(text) for _, text in diff) < 200
    assert short_diff("same", "same") == []


def test_metrics_split_into_gated_changed_unchanged_and_bookkeeping() -> None:
    res = sample_results(30, seed=2)
    res["metrics"].append(
        {
            "name": "http_live",
            "gated": False,
            "effect": {"estimate": 1.0, "ci_low": 1.0, "ci_high": 1.0},
        }
    )
    res["metrics"].append(
        {
            "name": "retries",
            "gated": False,
            "effect": {"estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0},
        }
    )
    groups = metric_groups(res)
    names = {k: [m["name"] for m in v] for k, v in groups.items()}
    assert names["gated"] == ["pass_rate", "latency_s", "cost"]
    assert names["bookkeeping"] == ["http_live"]
    assert "retries" in names["unchanged"]
    # a producer that lists unchanged metrics (and drops them from the tested ones) is followed
    res2 = {
        **res,
        "unchanged_metrics": ["breaker_trips", {"name": "tool_calls"}],
        "bookkeeping_metrics": [],
    }
    names2 = {k: [m["name"] for m in v] for k, v in metric_groups(res2).items()}
    assert {"breaker_trips", "tool_calls", "retries"} <= set(names2["unchanged"])
    assert "http_live" in names2["changed"]  # the producer said: nothing is bookkeeping


def test_pass_rate_and_counts_without_a_pass_rate_metric() -> None:
    res = sample_results(20, seed=3, regress_fraction=0.3)
    res["metrics"] = [m for m in res["metrics"] if m["name"] != "pass_rate"]
    rate = pass_rate(res)
    assert rate["baseline"] == "100.0%"
    assert rate["direction"] == "down"
    assert rate["interval"] == ""
    assert sum(counts(res["cases"]).values()) == 20


def test_n_lost_and_the_unchanged_line_are_shown(tmp_path: Path) -> None:
    res = sample_results(20, seed=3)
    res["metrics"][0]["n_lost"] = 4
    res["unchanged_metrics"] = ["breaker_trips"]
    html = write_reports(res, tmp_path)["report.html"].read_text("utf-8")
    assert "4 lost" in html
    assert 'data-metric="breaker_trips"' in html.split('id="unchanged-metrics"')[1]
