"""The metrics table: one row per run, costs from a price table, NaN where a metric is missing."""

from __future__ import annotations

import math

import pytest

from pytest_opsladder.drift.errors import GateConfigError
from pytest_opsladder.drift.table import metrics_table, parse_prices
from pytest_opsladder.exceptions import ConfigError

PRICES = parse_prices({"gpt-test": {"input": 2.0, "output": 8.0}})


def test_one_row_per_run_with_the_documented_columns(make_run) -> None:
    runs = [
        make_run("a", "prod", role="baseline", latency=0.5, tools=["search", "draft"]),
        make_run("a", "next", role="candidate", epoch=0, passed=False, tools=["draft"]),
    ]
    table = metrics_table(runs, prices=PRICES)
    assert len(table) == 2
    for col in (
        "case_id", "variant", "role", "epoch", "run_id", "status", "passed", "latency_s",
        "tokens_in", "tokens_out", "cost", "tool_calls", "retries", "errors",
        "guardrail_denials", "first_divergence_step", "trajectory", "output_text",
    ):  # fmt: skip
        assert col in table.columns, col
    base = table.iloc[0]
    assert base["latency_s"] == pytest.approx(0.5)
    assert base["trajectory"] == ["search", "draft"]
    assert base["tool_calls"] == 2
    assert base["guardrail_denials"] == 0
    assert base["cost"] == pytest.approx((100 * 2.0 + 20 * 8.0) / 1e6)
    assert base["output_text"] == "done"
    assert not table.iloc[1]["passed"]
    assert table.iloc[1]["failed_checks"] == ["contains: refund"]


def test_unpriced_model_costs_nan_and_star_prices_everything(make_run) -> None:
    run = make_run("a", "prod", role="baseline", model="other-model")
    assert math.isnan(metrics_table([run], prices=PRICES).iloc[0]["cost"])
    star = parse_prices({"*": {"input": 1.0, "output": 1.0}})
    assert metrics_table([run], prices=star).iloc[0]["cost"] == pytest.approx(120 / 1e6)


def test_missing_and_broken_metrics_are_nan_and_extras_become_columns(make_run) -> None:
    run = make_run("a", "prod", role="baseline", metrics={"latency_s": None, "judge_score": 0.7})
    run["manifest"]["duration_s"] = None  # metrics are derived on read: make it unknowable
    row = metrics_table([run]).iloc[0]
    assert math.isnan(row["latency_s"])
    assert row["judge_score"] == pytest.approx(0.7)


def test_role_derives_from_the_baseline_name_and_is_required(make_run) -> None:
    run = make_run("a", "next", role="candidate")
    del run["role"]
    assert metrics_table([run], baseline="prod").iloc[0]["role"] == "candidate"
    with pytest.raises(ValueError, match="role"):
        metrics_table([run])


def test_error_run_has_error_status_and_its_exception(make_run) -> None:
    run = make_run("a", "next", role="candidate", error=RuntimeError("model exploded"))
    row = metrics_table([run]).iloc[0]
    assert row["status"] == "error"
    assert row["error"]["message"] == "model exploded"


def test_extras_are_merged_from_a_parallel_list(make_run) -> None:
    run = make_run("a", "next", role="candidate")
    table = metrics_table([run], extras=[{"divergences": 2, "first_divergence_step": 1}])
    assert table.iloc[0]["divergences"] == 2
    assert table.iloc[0]["first_divergence_step"] == 1


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"m": {"input": 1.0}}, "prices.m"),
        ({"m": {"input": -1.0, "output": 1.0}}, "prices.m"),
        ({"m": 3}, "prices.m"),
    ],
)
def test_bad_price_table_names_the_model(raw, key) -> None:
    with pytest.raises(GateConfigError) as info:
        parse_prices(raw)
    assert isinstance(info.value, ConfigError)
    assert info.value.key == key
    assert "m" in str(info.value)
