"""``opsladder merge SHARD... -o results.json``: one verdict from many shards (ladder level 7)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="merge shard results into one verdict (level 7)",
        description="Concatenate the runs of shard files (reports/shards/*.jsonl), rescore them "
        "together (paired by case across shards) and write one results JSON.",
    )
    parser.add_argument("shards", nargs="+", type=Path, metavar="SHARD")
    parser.add_argument("-o", "--output", type=Path, default=Path("reports/results.json"))
    parser.add_argument(
        "--fail-on-inconclusive",
        action="store_true",
        help="exit 1 on an inconclusive verdict too (default: only on fail)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pytest_opsladder.drift.results import score, write_results
    from pytest_opsladder.drift.shards import merge_shards

    merged = merge_shards(args.shards)
    doc = score(
        merged.table,
        baseline=str(merged.settings.get("baseline")),
        candidate=str(merged.settings.get("candidate")),
        gate=merged.gate,
        case_meta=merged.case_meta,
        first_divergences=merged.first_divergences,
        provenance=merged.provenance,
        live_calls=merged.live_calls,
        fingerprints=merged.fingerprints,
        missing_baseline=merged.lost.get("missing_baseline") or {},
        missing_candidate=merged.lost.get("missing_candidate") or {},
        missing_epochs=merged.lost.get("missing_epochs") or {},
    )
    write_results(doc, args.output)
    print(
        f"opsladder merge: {len(args.shards)} shard(s), {doc['n_cases']} case(s) -> "
        f"{args.output}\n"
        f"verdict: {doc['verdict']} (alpha={doc['alpha']:g}): {doc['verdict_reason']}"
    )
    failing = {"fail", "inconclusive"} if args.fail_on_inconclusive else {"fail"}
    return 1 if doc["verdict"] in failing else 0
