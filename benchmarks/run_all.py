"""Run every benchmark in this directory, one after another: ``python benchmarks/run_all.py``.

Each ``bench_*.py`` runs in its own process (so one benchmark's imports, threads and garbage do
not skew the next), its output passed through as it comes. A benchmark misses a target when it
exits non-zero or prints a line with the word ``MISS``. After all of them have run, the misses
are listed at the end and the exit code is 1. ``-k WORD`` runs only those whose file name
contains WORD.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
_MISS = re.compile(r"\bMISS\b")


def benchmarks(only: str | None) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    return [p for p in found if only is None or only in p.name]


def run_one(path: Path) -> tuple[int, float, list[str]]:
    """Run one benchmark, echoing its output line by line; returns its exit code, wall time
    and the lines that report a missed target."""
    print(f"\n===== {path.name} =====", flush=True)
    start = time.perf_counter()
    misses: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-u", str(path)],
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if _MISS.search(line):
                misses.append(line.strip())
    return proc.returncode, time.perf_counter() - start, misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="only", help="run only benchmarks whose file name has this")
    args = parser.parse_args(argv)
    paths = benchmarks(args.only)
    if not paths:
        print(f"no benchmarks/bench_*.py matches {args.only!r}", file=sys.stderr)
        return 2
    results = [(path.name, *run_one(path)) for path in paths]
    print("\n===== summary =====")
    for name, code, seconds, misses in results:
        status = "ok" if code == 0 and not misses else f"exit {code}, {len(misses)} MISS"
        print(f"{name:<32} {seconds:7.1f} s  {status}")
    missed = [(name, line) for name, code, _, misses in results for line in misses]
    failed = [name for name, code, _, _ in results if code]
    if missed or failed:
        print("\n===== missed targets =====")
        for name, line in missed:
            print(f"{name}: {line}")
        for name in failed:
            print(f"{name}: exited non-zero")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
