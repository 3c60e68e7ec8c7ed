"""``opsladder events jsonl|metrics``: export a cassette's or run store's events (level 3).

    opsladder events jsonl runs/2026-01-05/ -o events.jsonl
    opsladder events metrics nightmare_set/cassettes --format prometheus

Paths are cassette files or directories of them (a production run store). Everything written
is redacted first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pytest_opsladder._output import OutputFile
from pytest_opsladder.observability.export import load_runs, write_jsonl
from pytest_opsladder.observability.metrics import Metrics


def register(sub: Any) -> None:
    parser = sub.add_parser("events", help="export events and metrics (level 3)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    jsonl = actions.add_parser("jsonl", help="one JSON line per run and per event")
    _common(jsonl)
    jsonl.set_defaults(func=_jsonl)
    metrics = actions.add_parser("metrics", help="counters and latency histograms")
    _common(metrics)
    metrics.add_argument("--format", choices=["json", "prometheus"], default="json")
    metrics.set_defaults(func=_metrics)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help="cassettes or run-store directories")
    parser.add_argument("-o", "--out", type=Path, default=None, help="file (default: stdout)")


def _jsonl(args: argparse.Namespace) -> int:
    if args.out is None:
        count = write_jsonl(load_runs(args.paths), sys.stdout)
    else:
        # atomic: a bad cassette met halfway leaves the old file, never half a new one
        with OutputFile(args.out, option="-o/--out") as out:
            count = write_jsonl(load_runs(args.paths), out)
    print(f"wrote {count} line(s)", file=sys.stderr)
    return 0


def _metrics(args: argparse.Namespace) -> int:
    metrics = Metrics().add_all(load_runs(args.paths))
    text = (
        metrics.to_prometheus()
        if args.format == "prometheus"
        else (json.dumps(metrics.to_dict(), indent=1, sort_keys=True) + "\n")
    )
    if args.out is None:
        sys.stdout.write(text)
    else:
        with OutputFile(args.out, option="-o/--out") as out:
            out.write(text)
    return 0
