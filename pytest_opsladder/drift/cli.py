"""``opsladder selfcheck``: measure the gate's own error rates by simulation (ladder level 7).

Prints the false-positive rate under no drift (it must stay within Monte Carlo error of alpha)
and the power at the requested effect sizes, next to the mean minimum detectable effect the
gate reported, so a team can see what its suite size can and cannot catch.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from pytest_opsladder.drift.simulate import Effects, Rate, gate_fail_rate, gate_with_alpha

DEFAULT_EFFECTS = ("pass_drop=0.15", "latency_ratio=1.3", "extra_tool_calls=1.0")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "selfcheck",
        help="simulate the drift gate's error rates (level 7)",
        description="Simulate suites (cases x epochs with case difficulty, latency with a case "
        "effect, counts, tool choices, trajectories) and report the gate's false-positive rate "
        "under no drift and its power at given effect sizes, with Monte Carlo error.",
    )
    parser.add_argument("--cases", type=_positive, default=40, help="cases per suite (40)")
    parser.add_argument("--epochs", type=_positive, default=1, help="epochs per side (1)")
    parser.add_argument("--sims", type=_positive, default=200, help="simulated suites (200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alpha", type=_alpha, default=0.01, help="family-wise alpha (0.01)")
    parser.add_argument(
        "--effect",
        action="append",
        metavar="NAME=VALUE",
        help="an effect to measure power at: pass_drop=0.15, latency_ratio=1.3, "
        f"extra_tool_calls=1 (repeatable; default: {', '.join(DEFAULT_EFFECTS)})",
    )
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return value


def _alpha(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"alpha {text!r} must be strictly between 0 and 1")
    return value


def parse_effect(text: str) -> Effects:
    """``pass_drop=0.15`` -> Effects(pass_drop=0.15); the error lists the valid names."""
    valid = ("pass_drop", "latency_ratio", "extra_tool_calls", "trajectory_noise")
    name, sep, value = text.partition("=")
    if not sep or name not in valid:
        raise argparse.ArgumentTypeError(
            f"--effect {text!r} is not NAME=VALUE with a valid name. Valid names are: "
            f"{', '.join(valid)}"
        )
    try:
        return Effects(**{name: float(value)})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--effect {text!r}: {value!r} is not a number") from None


def _line(label: str, rate: Rate) -> str:
    mdes = ", ".join(f"{k} {v:.3g}" for k, v in rate.mean_mde.items() if math.isfinite(v))
    return (
        f"  {label:<28} fail rate {rate.rate:6.3f} ± {rate.mc_error:.3f} (MC s.e.)"
        f"   [{rate.hits}/{rate.sims}]   mean MDE: {mdes}"
    )


def run(args: argparse.Namespace) -> int:
    try:
        effects = [parse_effect(e) for e in (args.effect or DEFAULT_EFFECTS)]
    except argparse.ArgumentTypeError as exc:
        print(f"opsladder selfcheck: error: {exc}")
        return 2
    gate = gate_with_alpha(args.alpha)
    common = {"n_cases": args.cases, "epochs": args.epochs, "sims": args.sims, "gate": gate}
    print(
        f"opsladder selfcheck: {args.sims} simulated suites of {args.cases} cases x "
        f"{args.epochs} epoch(s); gated: {', '.join(gate.metrics)}; alpha={args.alpha:g}"
    )
    null = gate_fail_rate(seed=args.seed, effects=Effects(), **common)
    # the Monte Carlo error of a rate that truly equals alpha: the yardstick of "beyond alpha"
    bound = args.alpha + 2 * math.sqrt(args.alpha * (1 - args.alpha) / args.sims)
    ok = null.rate <= bound
    print(_line("no drift (false positives)", null))
    verdict = "PASS" if ok else "FAIL"
    print(f"  false-positive rate <= alpha + 2 MC s.e. at alpha ({bound:.3f}): {verdict}")
    for i, fx in enumerate(effects, 1):
        print(
            _line(
                f"{fx.describe()} (power)", gate_fail_rate(seed=args.seed + i, effects=fx, **common)
            )
        )
    return 0 if ok else 1
