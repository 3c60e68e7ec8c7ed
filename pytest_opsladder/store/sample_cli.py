"""``opsladder sample``: draw production runs from the store for review (ladder level 7).

    opsladder sample --store runs/ --strategy interesting -n 10 --seed 7 -o sample.jsonl
    opsladder sample --strategy stratified --by status,variant -n 5
    cat runs.jsonl | opsladder sample --strategy reservoir --input - -n 50

Writes the drawn index entries as JSON lines (stdout or ``-o``); ``opsladder review --serve
--sample sample.jsonl`` shows them. The same seed over the same index draws the same runs.

``--reindex`` rebuilds the index from the run files first. A run file that cannot be read is
skipped and listed on stderr, the sample is drawn from every other run, and the exit status is
1 (a partial rebuild a script should notice, as ``rsync`` exits 23 for a partial transfer).
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import Any

from pytest_opsladder._regular_file import kind_of
from pytest_opsladder.cassette.files import atomic_write_text
from pytest_opsladder.cassette.write_errors import WriteTarget
from pytest_opsladder.store.errors import StoreError, StoreWriteError
from pytest_opsladder.store.index import IndexReadStats, checked_lines, iter_index_lines
from pytest_opsladder.store.layout import ENV_STORE, index_path, resolve_store
from pytest_opsladder.store.sampling import (
    SampleSpec,
    Strategy,
    StratumField,
    dumps_sample,
    sample_lines,
)


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `sample` and `review` share: where the store is and how to draw."""
    parser.add_argument(
        "--store", default=None, help=f"the run store directory (default: ${ENV_STORE} or runs/)"
    )
    parser.add_argument(
        "--strategy",
        default="uniform",
        help="uniform (default), stratified, reservoir or interesting",
    )
    parser.add_argument("-n", type=int, default=20, help="runs to draw (per stratum / reason)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed draws the same runs")
    parser.add_argument(
        "--by", default="status", help="stratified: comma-separated status,tool,error_code,variant"
    )
    parser.add_argument("--slow-s", type=float, default=None, help="interesting: slow threshold")
    parser.add_argument("--z", type=float, default=3.0, help="interesting: outlier z-score")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sample", help="sample production runs (level 7)")
    add_sampling_arguments(parser)
    parser.add_argument("--input", default=None, help="read JSON lines from FILE or - (stdin)")
    parser.add_argument("-o", "--output", default=None, help="write the sample here (JSON lines)")
    parser.add_argument(
        "--reindex",
        action="store_true",
        help="rebuild the index from the run files, then sample; unreadable run files are "
        "skipped and listed on stderr, and make the exit status 1",
    )
    parser.set_defaults(func=run)


def spec_from_args(args: argparse.Namespace) -> SampleSpec:
    by = tuple(
        StratumField(StratumField.parse(b.strip(), what="stratum field (--by)"))
        for b in str(args.by).split(",")
        if b.strip()
    )
    return SampleSpec(
        strategy=Strategy(Strategy.parse(args.strategy, what="sampling strategy (--strategy)")),
        n=args.n,
        seed=args.seed,
        by=by or (StratumField.STATUS,),
        slow_s=args.slow_s,
        z=args.z,
    )


def draw(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Draw a sample as the options say, warning on stderr about unreadable lines."""
    spec = spec_from_args(args)
    store = resolve_store(args.store)
    stats = IndexReadStats()
    source = getattr(args, "input", None)
    if source == "-":
        lines = checked_lines(sys.stdin.buffer, Path("<stdin>"), stats)
    else:
        lines = iter_index_lines(_index_of(source, store), stats)
    drawn = sample_lines(lines, spec, stats)
    warning = stats.warning(Path(source) if source and source != "-" else index_path(store))
    if warning:
        print(f"opsladder: warning: {warning}", file=sys.stderr)
    return drawn


def _index_of(source: str | None, store: Path) -> Path:
    """The index to draw from. A path that is not there is a typo, not an empty store: it
    would draw nothing and say nothing. A store with no index yet (no runs) draws nothing."""
    if source:
        expected = "a run index (a store's index.jsonl). Pass that file, or - to read stdin"
        return lines_file(Path(source), "--input", expected)
    if not store.is_dir():
        raise StoreError(
            f"no run store at {store}/ (from --store, ${ENV_STORE} or the default runs/). "
            f"Pass --store DIR, the directory capture(store=...) writes to, or set {ENV_STORE}.",
            path=store,
        )
    return index_path(store)


def lines_file(path: Path, option: str, expected: str) -> Path:
    """``path`` if it is a regular file (of JSON lines), else a StoreError naming the option,
    what the path is instead and what it takes: a missing file would read as no lines at all,
    a directory fail with a bare "Is a directory", a FIFO block the read."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        what = "does not exist"
    except OSError as exc:
        what = f"cannot be read ({exc.strerror or exc})"
    else:
        if stat.S_ISREG(mode):
            return path
        what = f"is {kind_of(mode)}"
    raise StoreError(
        f"{option} {str(path)!r} {what}; it must be {expected}.",
        path=path,
    )


_SAMPLE_FILE = WriteTarget(
    "sample file",
    "write it elsewhere with -o FILE (or leave -o out to print it)",
    "run the command again",
    error=StoreWriteError,
)


def run(args: argparse.Namespace) -> int:
    status = _reindex(resolve_store(args.store)) if args.reindex else 0
    drawn = draw(args)
    text = dumps_sample(drawn)
    if args.output:
        atomic_write_text(Path(args.output), text, _SAMPLE_FILE)
        print(f"wrote {len(drawn)} run(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return status


def _reindex(store: Path) -> int:
    """Rebuild the index; 1 if run files had to be skipped (the sample is still drawn, from
    every run that could be read), else 0. Reports go to stderr: stdout is the sample."""
    from pytest_opsladder.store.runs import reindex

    done = reindex(store)
    print(f"reindexed {done.indexed} run(s) into {index_path(store)}", file=sys.stderr)
    if not done.skipped:
        return 0
    print(
        f"opsladder sample: warning: skipped {len(done.skipped)} unreadable run file(s); "
        "they are not in the index, so sampling and review do not see them. Restore each from "
        "a backup, or move it out of the store, then reindex again:",
        file=sys.stderr,
    )
    for _path, reason in done.skipped:  # each reason names its file
        print(f"  {reason}", file=sys.stderr)
    return 1
