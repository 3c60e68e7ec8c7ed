"""The gate's self-check: no false alarms beyond alpha under no drift, power at a real effect."""

from __future__ import annotations

import math

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.drift.simulate import Effects, gate_fail_rate, gate_with_alpha


@pytest.mark.parametrize("epochs", [1, 3])
def test_false_positive_rate_stays_within_alpha(epochs: int) -> None:
    alpha, sims = 0.05, 120  # a loose alpha makes the check sensitive at a modest sim count
    rate = gate_fail_rate(
        n_cases=30,
        epochs=epochs,
        sims=sims,
        seed=epochs,
        effects=Effects(),
        gate=gate_with_alpha(alpha),
    )
    bound = alpha + 3 * math.sqrt(alpha * (1 - alpha) / sims)
    assert rate.rate <= bound, f"false-positive rate {rate.rate:.3f} > {bound:.3f}"


def test_power_is_high_at_a_large_effect() -> None:
    rate = gate_fail_rate(
        n_cases=40, epochs=1, sims=40, seed=5, effects=Effects(pass_drop=0.4, latency_ratio=1.6)
    )
    assert rate.rate >= 0.9
    assert rate.mc_error < 0.05


def test_cli_prints_fpr_and_power_with_monte_carlo_error(capsys) -> None:
    code = main(
        ["selfcheck", "--cases", "20", "--sims", "20", "--power-sims", "10", "--mde-suites",
         "3", "--seed", "3", "--alpha", "0.05", "--effect", "latency_ratio=2.0"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "20 simulated suites of 20 cases x 1 epoch(s)" in out
    assert "no drift (false positives)" in out
    assert "latency x2 (power)" in out
    assert "(MC s.e.)" in out
    assert code == (0 if "PASS" in out else 1)


def test_cli_rejects_an_unknown_effect_name(capsys) -> None:
    assert main(["selfcheck", "--sims", "1", "--effect", "vibes=2"]) == 2
    # on stderr, as every command's errors (it was printed on stdout, into a captured report)
    assert "Valid names are: pass_drop, latency_ratio" in capsys.readouterr().err
