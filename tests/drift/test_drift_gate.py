"""Gate configuration (every error names its key) and the pass / fail / inconclusive verdicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pytest_opsladder.drift.errors import GateConfigError, UnknownGateMetricError
from pytest_opsladder.drift.gate import (
    GateConfig,
    MarginKind,
    Worse,
    load_gate_config,
    parse_gate_config,
)
from pytest_opsladder.drift.results import score
from pytest_opsladder.drift.scoring import check_gate, startup_catalogue
from pytest_opsladder.drift.simulate import Effects, simulate_table
from pytest_opsladder.drift.verdicts import overall_verdict
from pytest_opsladder.exceptions import ConfigError


def test_parses_the_documented_example() -> None:
    gate = parse_gate_config(
        {
            "alpha": 0.05,
            "pass_rate": {"worse": "lower", "margin": 0.02},
            "latency": {"worse": "higher", "margin": "10%"},
        }
    )
    assert gate.alpha == 0.05
    assert gate.metrics["pass_rate"].worse is Worse.LOWER
    assert gate.metrics["pass_rate"].margin == 0.02
    latency = gate.metrics["latency_s"]  # "latency" is an alias of the table's latency_s
    assert (latency.margin, latency.margin_kind) == (pytest.approx(0.10), MarginKind.RELATIVE)
    assert parse_gate_config(gate.to_dict()) == gate


def test_default_alpha_is_001_and_default_gate_is_pass_rate() -> None:
    assert parse_gate_config({}).alpha == 0.01
    assert list(GateConfig.default().metrics) == ["pass_rate"]


@pytest.mark.parametrize(
    ("raw", "key", "words"),
    [
        ({"alpha": 1.5}, "alpha", "between 0 and 1"),
        ({"alpha": "0.01"}, "alpha", "between 0 and 1"),
        ({"pass_rate": {"worse": "down"}}, "pass_rate.worse", "Valid values are: lower, higher"),
        ({"pass_rate": {"margin": 0.1}}, "pass_rate.worse", 'worse = "lower"'),
        ({"pass_rate": {"worse": "lower", "margin": "ten"}}, "pass_rate.margin", '"10%"'),
        ({"pass_rate": {"worse": "lower", "margin": -1}}, "pass_rate.margin", "non-negative"),
        ({"pass_rate": {"worse": "lower", "tolerance": 1}}, "pass_rate.tolerance", "valid keys"),
        ({"pass_rate": 0.02}, "pass_rate", "must be a table"),
        ({"seed": -1}, "seed", "non-negative integer"),
        ({"trajectory_match": "fuzzy"}, "trajectory_match", "strict, unordered"),
    ],
)
def test_bad_config_names_the_key(raw, key, words) -> None:
    with pytest.raises(GateConfigError) as info:
        parse_gate_config(raw)
    assert isinstance(info.value, ConfigError)
    assert info.value.key == key
    assert words in str(info.value)


def test_unknown_metric_names_it_and_the_valid_ones() -> None:
    table = simulate_table(6, 1, Effects(), np.random.default_rng(0))
    gate = parse_gate_config({"latncy_s": {"worse": "higher"}})
    with pytest.raises(UnknownGateMetricError) as info:
        score(table, baseline="prod", candidate="next", gate=gate)
    assert isinstance(info.value, ConfigError)
    message = str(info.value)
    assert "'latncy_s'" in message
    assert "latency_s" in message
    assert "pass_rate" in message


def test_gating_a_categorical_metric_is_refused() -> None:
    table = simulate_table(6, 1, Effects(), np.random.default_rng(0))
    gate = parse_gate_config({"status": {"worse": "higher"}})
    with pytest.raises(GateConfigError, match="categorical"):
        score(table, baseline="prod", candidate="next", gate=gate)


def test_load_from_pyproject(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[tool.opsladder.gate]\nalpha = 0.02\ncost = {worse = "higher", margin = "5%"}\n'
    )
    gate = load_gate_config(path)
    assert gate.alpha == 0.02
    assert gate.metrics["cost"].margin == pytest.approx(0.05)
    (tmp_path / "empty.toml").write_text("[tool.other]\n")
    assert load_gate_config(tmp_path / "empty.toml") == GateConfig.default()
    (tmp_path / "bad.toml").write_text("[tool.opsladder.gate\n")
    with pytest.raises(GateConfigError, match=r"bad\.toml"):
        load_gate_config(tmp_path / "bad.toml")


def _verdicts(doc):
    return {m["name"]: m["verdict"] for m in doc["metrics"] if m["gated"]}


def test_a_large_regression_fails_with_holm_adjusted_p() -> None:
    table = simulate_table(
        300, 1, Effects(pass_drop=0.3, latency_ratio=1.5), np.random.default_rng(1)
    )
    gate = parse_gate_config(
        {
            "pass_rate": {"worse": "lower", "margin": 0.02},
            "latency": {"worse": "higher", "margin": "10%"},
        }
    )
    doc = score(table, baseline="prod", candidate="next", gate=gate, include_cases=False)
    assert doc["verdict"] == "fail"
    assert _verdicts(doc) == {"pass_rate": "fail", "latency_s": "fail"}
    pass_rate = next(m for m in doc["metrics"] if m["name"] == "pass_rate")
    assert pass_rate["test"] == "tango_score_exact"  # margin 0.02: Tango, exact critical value
    assert pass_rate["p_adjusted"] >= pass_rate["p_value"]
    assert pass_rate["extra"]["b_regressions"] > pass_rate["extra"]["c_improvements"]
    assert pass_rate["effect"]["estimate"] < -0.2
    assert "alpha=0.01" in doc["verdict_reason"]


def test_no_drift_with_enough_cases_passes_and_reports_the_mde() -> None:
    table = simulate_table(2000, 1, Effects(), np.random.default_rng(2))
    gate = parse_gate_config({"latency": {"worse": "higher", "margin": "10%"}})
    doc = score(table, baseline="prod", candidate="next", gate=gate, include_cases=False)
    latency = next(m for m in doc["metrics"] if m["name"] == "latency_s")
    assert latency["verdict"] == "pass"
    assert latency["bound"] < 0.10  # non-inferiority shown: the upper bound is below the margin
    assert latency["p_adjusted_pass"] < 0.01
    # the MDE is the degradation the fail test catches with 80% power: beyond the margin
    assert 0.10 < latency["mde"] < 0.15
    assert doc["verdict"] == "pass"


def test_small_suite_is_inconclusive_because_the_mde_exceeds_the_margin() -> None:
    table = simulate_table(20, 1, Effects(), np.random.default_rng(3))
    gate = parse_gate_config({"pass_rate": {"worse": "lower", "margin": 0.02}})
    doc = score(table, baseline="prod", candidate="next", gate=gate, include_cases=False)
    assert doc["verdict"] == "inconclusive"
    pass_rate = doc["metrics"][0]
    assert pass_rate["mde"] > 0.02
    assert "minimum detectable effect" in pass_rate["reason"]
    assert f"about {pass_rate['n_decisive']} cases would decide it" in pass_rate["reason"]


def test_fewer_than_five_cases_is_inconclusive_with_the_reason() -> None:
    table = simulate_table(4, 1, Effects(pass_drop=1.0), np.random.default_rng(4))
    doc = score(table, baseline="prod", candidate="next", include_cases=False)
    assert doc["verdict"] == "inconclusive"
    assert "only 4 case(s)" in doc["verdict_reason"]
    assert "at least 5" in doc["verdict_reason"]


@pytest.mark.parametrize(("drop", "verdict"), [(0.30, "fail"), (0.0, "pass")])
def test_relative_margin_on_a_metric_that_degrades_downwards(drop: float, verdict: str) -> None:
    rng = np.random.default_rng(9)
    table = simulate_table(400, 1, Effects(), rng)
    quality = rng.uniform(0.5, 1.0, 400)
    base = table["role"] == "baseline"
    table["judge_score"] = 0.0
    table.loc[base, "judge_score"] = quality
    table.loc[~base, "judge_score"] = quality * (1 - drop) * rng.uniform(0.98, 1.02, 400)
    gate = parse_gate_config({"judge_score": {"worse": "lower", "margin": "10%"}})
    doc = score(table, baseline="prod", candidate="next", gate=gate, include_cases=False)
    judge = next(m for m in doc["metrics"] if m["name"] == "judge_score")
    assert judge["extra"]["scale"] == "log"
    assert judge["alternative"] == "less"
    assert judge["verdict"] == verdict
    assert judge["effect"]["estimate"] == pytest.approx(-drop, abs=0.02)


def test_gate_can_be_checked_at_startup_before_any_run() -> None:
    from pytest_opsladder.drift.scoring import check_gate, startup_catalogue

    kinds = startup_catalogue(["judge_score"])
    check_gate(parse_gate_config({"judge_score": {"worse": "lower"}}), kinds)
    with pytest.raises(UnknownGateMetricError, match="judge_score"):
        check_gate(parse_gate_config({"judge": {"worse": "lower"}}), kinds)
    with pytest.raises(GateConfigError, match="categorical"):
        check_gate(parse_gate_config({"status": {"worse": "higher"}}), kinds)


@pytest.mark.parametrize(
    ("raw", "key", "words"),
    [
        ({"pass_rate": {"worse": "lower", "margin": float("inf")}}, "pass_rate.margin", "finite"),
        ({"cost": {"worse": "higher", "margin": "inf%"}}, "cost.margin", "finite"),
        ({"cost": {"worse": "higher", "margin": "nan%"}}, "cost.margin", "finite"),
        ({"latency_s": {"worse": "lower", "margin": "100%"}}, "latency_s.margin", "below 100%"),
        ({"power": 1.5}, "power", "power = 0.8"),
        ({"min_cases": 0}, "min_cases", "positive integer"),
    ],
)
def test_margins_that_make_the_gate_meaningless_are_refused(raw, key, words) -> None:
    with pytest.raises(GateConfigError) as info:
        parse_gate_config(raw)
    assert info.value.key == key
    assert words in str(info.value)


@pytest.mark.parametrize("name", ["pass_rate", "trajectory", "output_text"])
def test_an_absolute_margin_of_one_on_a_bounded_metric_is_refused(name) -> None:
    gate = parse_gate_config({name: {"worse": "lower" if name == "pass_rate" else "higher",
                                     "margin": 1}})  # fmt: skip
    with pytest.raises(GateConfigError) as info:
        check_gate(gate, startup_catalogue())
    assert info.value.key == f"{name}.margin"
    assert "below 1" in str(info.value)


def test_a_value_error_names_the_pyproject_file(tmp_path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.opsladder.gate]\npass_rate = {worse = "lower", margin = inf}\n')
    with pytest.raises(GateConfigError) as info:
        load_gate_config(pyproject)
    assert str(info.value).startswith(f"{pyproject}: [tool.opsladder.gate] pass_rate.margin")


def test_a_gate_with_no_gated_metric_is_inconclusive_never_a_pass() -> None:
    # nothing tested is nothing shown: a gate without metrics must not wave a candidate through
    verdict, reason = overall_verdict([], GateConfig())
    assert verdict == "inconclusive"
    assert "no metric is gated" in reason
    assert "[tool.opsladder.gate]" in reason


@pytest.mark.parametrize("table", [{}, {"alpha": 0.05, "min_cases": 3}])
def test_a_gate_table_that_names_no_metric_keeps_the_default_pass_rate_gate(
    table: dict[str, object],
) -> None:
    gate = parse_gate_config(table)
    assert gate.metrics == GateConfig.default().metrics
    assert gate.alpha == table.get("alpha", 0.01)


def test_a_gate_that_is_not_a_table_is_a_config_error_naming_the_source() -> None:
    with pytest.raises(GateConfigError, match=r"shard\.jsonl.*must be a table"):
        parse_gate_config("pass_rate", source="shard.jsonl")  # type: ignore[arg-type]
