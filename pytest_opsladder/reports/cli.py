"""``opsladder report``: re-render the reports from a results JSON, or a drift history (level 7).

opsladder report RESULTS.json [-o DIR]   report.html, summary.md, junit.xml into DIR
opsladder report --history DIR [-o OUT]  history.html: each gated metric's trend over time
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_opsladder.exceptions import ConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="render reports from results JSON (level 7)",
        description="Re-render the HTML report, Markdown summary and JUnit XML from a results "
        "JSON, or with --history the trend of each gated metric over a directory of results.",
    )
    parser.add_argument("results", nargs="?", type=Path, help="a results.json file")
    parser.add_argument("--history", type=Path, metavar="DIR", help="a directory of results files")
    parser.add_argument("-o", "--output", type=Path, metavar="DIR", help="where to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.results is None) == (args.history is None):
        raise ConfigError(
            "opsladder report needs exactly one of RESULTS.json or --history DIR "
            f"(got results={args.results!r}, history={args.history!r})."
        )
    if args.history is not None:
        return _history(args.history, args.output)
    return _single(args.results, args.output)


def _single(results_path: Path, output: Path | None) -> int:
    from pytest_opsladder.reports.ci_summaries import terminal_summary
    from pytest_opsladder.reports.results_file import load_results
    from pytest_opsladder.reports.writer import write_reports

    results = load_results(results_path)
    out_dir = output if output is not None else results_path.parent
    same = (out_dir / "results.json").resolve() == results_path.resolve()
    written = write_reports(results, out_dir, copy_results=not same)
    print("\n".join(terminal_summary(results)))
    for path in written.values():
        print(f"wrote {path}")
    return 0


def _history(directory: Path, output: Path | None) -> int:
    from pytest_opsladder.reports.history import write_history

    path = write_history(directory, output if output is not None else directory)
    print(f"wrote {path}")
    return 0
