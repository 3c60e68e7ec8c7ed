"""``opsladder judge calibrate``: may this judge gate? (ladder level 7, see :mod:`.calibrate`)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from pytest_opsladder.model_graded.errors import JudgeConfigError


def register(sub: Any) -> None:
    parser = sub.add_parser("judge", help="calibrate model-graded checks (level 7)")
    inner = parser.add_subparsers(dest="judge_command", metavar="SUBCOMMAND", required=True)
    cal = inner.add_parser(
        "calibrate",
        help="re-ask recorded judge calls and compare: agreement with itself and reviewers",
    )
    cal.add_argument("paths", nargs="+", type=Path, help="cassette files or directories")
    cal.add_argument("--repeats", type=int, default=2, help="live re-asks per call (default 2)")
    cal.add_argument("--store", type=Path, help="run store with `opsladder review` verdicts")
    cal.add_argument("--base-url", help="the judge's base URL (else the configured default)")
    cal.add_argument("--model", help="ask another judge model than the recorded one")
    cal.add_argument("--json", action="store_true", help="print the rows as JSON")
    cal.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from pytest_opsladder.model_graded.calibrate import (
        human_agreement,
        recorded_judgements,
        self_agreement,
    )

    if args.repeats < 1:
        raise JudgeConfigError(f"--repeats {args.repeats} must be at least 1.")
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise JudgeConfigError(f"no such cassette file or directory: {', '.join(missing)}.")
    judgements = recorded_judgements(args.paths)
    if not judgements:
        print(
            "no recorded judge calls in the given cassettes: record cases with judge checks "
            "first (pytest --opsladder-mode=record)."
        )
        return 1
    overrides = {"base_url": args.base_url, "model": args.model}
    rows = [a.row() for a in self_agreement(judgements, args.repeats, overrides).values()]
    if args.store is not None:
        rows += [a.row() for a in human_agreement(judgements, args.store).values()]
    print(json.dumps(_json_rows(rows), indent=2) if args.json else _table(rows))
    if not any(row["n"] for row in rows):
        errors = sum(row["errors"] for row in rows)
        print(
            f"opsladder judge calibrate: nothing was measured: every comparison failed "
            f"({errors} error(s)). Check that the judge answers at --base-url (or the configured "
            "default) and that --model names a model it serves.",
            file=sys.stderr,
        )
        return 1
    return 0


def _json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NaN (nothing to compare) as null: JSON has no NaN, and jq and CI parsers refuse it."""
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in rows
    ]


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'judge':<28} {'against':<14} {'n':>5} {'errors':>6} {'agree':>7} {'kappa':>7}"]
    for row in rows:
        lines.append(
            f"{row['judge']:<28} {row['against']:<14} {row['n']:>5} {row['errors']:>6} "
            f"{_pct(row['percent_agreement']):>7} {_num(row['kappa']):>7}"
        )
    lines.append(
        "kappa: 1 = perfect agreement, 0 = chance level; a judge that disagrees with "
        "itself (kappa well below 0.8) should not gate."
    )
    return "\n".join(lines)


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0%}"


def _num(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}"
