"""Run every benchmark in this directory, one after another: ``python benchmarks/run_all.py``.

Each ``bench_*.py`` runs in its own process (so one benchmark's imports, threads and garbage do
not skew the next) with its output passed straight through. The exit code is 1 if any benchmark
missed a target or failed, after all of them have run; ``-k WORD`` runs only those whose file
name contains WORD.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks(only: str | None) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    return [p for p in found if only is None or only in p.name]


def run_one(path: Path) -> tuple[int, float]:
    print(f"\n===== {path.name} =====", flush=True)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(path)], cwd=HERE.parent, check=False)
    return done.returncode, time.perf_counter() - start


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
    for name, code, seconds in results:
        status = "ok" if code == 0 else f"exit {code} (missed a target or failed)"
        print(f"{name:<32} {seconds:7.1f} s  {status}")
    return 1 if any(code for _, code, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
