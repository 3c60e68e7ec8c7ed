"""``opsladder selfcheck``: evidence that the gate's verdicts mean what they say (level 7).

Simulates suites whose truth is known and prints, with Monte Carlo error and the exact
(Clopper-Pearson) interval of every rate:

1. the worst null: every gated metric degraded exactly by its margin. The gate's fail rate and
   each metric's pass rate must stay within alpha + 2 Monte Carlo standard errors (a pass is a
   claim of non-inferiority; a fail a claim of degradation beyond the margin);
2. the power at the MDE the gate itself reported (averaged over the first suites): each metric
   degraded by its reported MDE alone must fail about 80% of the time;
3. the fail rate under no drift and at any ``--effect``, as before.

The default number of suites is the smallest for which 2 Monte Carlo standard errors at alpha
are at most alpha / 2 (1,584 at alpha = 0.01), so a false-positive rate of 1.5 alpha is caught.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from pytest_opsladder._cli_types import bounded_int
from pytest_opsladder.drift.gate import GateConfig, parse_gate_config
from pytest_opsladder.drift.simulate import (
    EVIDENCE_GATE,
    Effects,
    Rate,
    effect_at,
    margins_effect,
    simulate_gate,
)

DEFAULT_EFFECTS: tuple[str, ...] = ()


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "selfcheck",
        help="simulate the drift gate's error rates and power (level 7)",
        description="Simulate suites (cases x epochs with case difficulty, log-normal latency "
        "with a case effect, a tie-heavy retry count, tool routes) gated on pass_rate (margin "
        "0.05), latency_s (10%) and retries (0); report the gate's error rates at the margins "
        "and its power at the MDE it reports, with Monte Carlo error.",
    )
    parser.add_argument("--cases", type=_CASES, default=200, help="cases per suite (200)")
    parser.add_argument("--epochs", type=_EPOCHS, default=1, help="epochs per side (1)")
    parser.add_argument(
        "--sims", type=_SIMS, default=None, help="suites per rate (default: 16 (1 - a) / a)"
    )
    parser.add_argument(
        "--power-sims", type=_SIMS, default=400, help="suites per power estimate (400)"
    )
    parser.add_argument(
        "--mde-suites", type=_SIMS, default=30, help="suites the mean MDE is taken over (30)"
    )
    parser.add_argument("--seed", type=bounded_int(0, 2**32 - 1), default=0)
    parser.add_argument("--alpha", type=_alpha, default=0.01, help="family-wise alpha (0.01)")
    parser.add_argument(
        "--effect",
        action="append",
        metavar="NAME=VALUE",
        help="also measure the fail rate at an effect: pass_drop=0.15, latency_ratio=1.3, "
        "extra_retries=0.2, extra_tool_calls=1 (repeatable)",
    )
    parser.set_defaults(func=run)


# a suite is simulated in memory: bounds that keep it there (and the run under hours)
_CASES, _EPOCHS, _SIMS = bounded_int(1, 100_000), bounded_int(1, 100), bounded_int(1, 1_000_000)


def _alpha(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"alpha {text!r} must be strictly between 0 and 1")
    return value


def default_sims(alpha: float) -> int:
    """Smallest n with 2 sqrt(alpha (1 - alpha) / n) <= alpha / 2."""
    return math.ceil(16 * (1 - alpha) / alpha)


def parse_effect(text: str) -> Effects:
    """``pass_drop=0.15`` -> Effects(pass_drop=0.15); the error lists the valid names."""
    valid = ("pass_drop", "latency_ratio", "extra_tool_calls", "trajectory_noise", "extra_retries")
    name, sep, value = text.partition("=")
    if not sep or name not in valid:
        raise argparse.ArgumentTypeError(
            f"--effect {text!r} is not NAME=VALUE with a valid name. Valid names are: "
            f"{', '.join(valid)}"
        )
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"--effect {text!r}: {value!r} is not a finite number")
    return Effects(**{name: number})


def _line(label: str, rate: Rate) -> str:
    lo, hi = rate.clopper_pearson()
    return (
        f"  {label:<34} {rate.rate:6.3f} ± {rate.mc_error:.3f} (MC s.e.)  "
        f"95% CP [{lo:.4f}, {hi:.4f}]  [{rate.hits}/{rate.sims}]"
    )


def within(rate: Rate, alpha: float) -> bool:
    """The rate is no more than alpha + 2 Monte Carlo standard errors (at alpha)."""
    return rate.rate <= alpha + 2 * math.sqrt(alpha * (1 - alpha) / rate.sims)


def run(args: argparse.Namespace) -> int:
    try:
        effects = [parse_effect(e) for e in (args.effect or DEFAULT_EFFECTS)]
    except argparse.ArgumentTypeError as exc:
        print(f"opsladder selfcheck: error: {exc}", file=sys.stderr)
        return 2
    gate = parse_gate_config({**EVIDENCE_GATE, "alpha": args.alpha})
    sims = args.sims or default_sims(args.alpha)
    common = {"n_cases": args.cases, "epochs": args.epochs, "gate": gate}
    print(
        f"opsladder selfcheck: {sims} simulated suites of {args.cases} cases x "
        f"{args.epochs} epoch(s); gated: {_describe(gate)}; alpha={args.alpha:g}"
    )
    ok = _size_at_margins(args, gate, sims, common)
    ok = _power_at_mde(args, gate, common) and ok
    null = simulate_gate(seed=args.seed + 1, effects=Effects(), sims=sims, **common).rate()
    print(_line("no drift (false positives)", null))
    for i, fx in enumerate(effects, 2):
        rate = simulate_gate(seed=args.seed + i, effects=fx, sims=args.power_sims, **common)
        print(_line(f"{fx.describe()} (power)", rate.rate()))
    print(f"selfcheck: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def _describe(gate: GateConfig) -> str:
    parts = []
    for name, g in gate.metrics.items():
        margin = f"{g.margin * 100:g}%" if g.margin_kind.value == "relative" else f"{g.margin:g}"
        parts.append(f"{name} ({g.worse.value} is worse, margin {margin})")
    return ", ".join(parts)


def _size_at_margins(
    args: argparse.Namespace, gate: GateConfig, sims: int, common: dict[str, Any]
) -> bool:
    fx = margins_effect(gate)
    rates = simulate_gate(seed=args.seed, effects=fx, sims=sims, **common)
    bound = args.alpha + 2 * math.sqrt(args.alpha * (1 - args.alpha) / sims)
    print(f"at the margins ({fx.describe()}): every rate must be <= {bound:.4f}")
    checks = [("gate fails (any metric)", rates.rate())]
    checks += [(f"{n} passes", rates.rate(n, verdict="pass")) for n in gate.metrics]
    ok = True
    for label, rate in checks:
        good = within(rate, args.alpha)
        ok = ok and good
        print(_line(label, rate) + ("" if good else "   <- beyond alpha"))
    return ok


def _power_at_mde(args: argparse.Namespace, gate: GateConfig, common: dict[str, Any]) -> bool:
    """Each metric degraded alone by the MDE the gate reported (no drift elsewhere)."""
    k = args.mde_suites
    reported = simulate_gate(
        seed=args.seed + 1000, effects=Effects(), sims=k, mde_sims=k, **common
    ).mean_mde()
    print(f"power at the reported MDE (mean over {k} suites; target {gate.power:g}):")
    ok = True
    for i, name in enumerate(gate.metrics):
        mde = reported.get(name)
        if mde is None:
            print(f"  {name}: no MDE reachable at this suite size")
            continue
        rate = simulate_gate(
            seed=args.seed + 2000 + i, effects=effect_at(name, mde), sims=args.power_sims, **common
        ).rate(name)
        good = rate.rate + 2 * rate.mc_error >= gate.power - 0.1
        ok = ok and good
        print(_line(f"{name} at MDE {mde:.4g}", rate) + ("" if good else "   <- low"))
    return ok
