"""Benchmark, ladder level 7: collecting a large nightmare set, and sampling a large run store.

Targets:
- ``pytest --collect-only`` over 10,000 nightmare cases: at most 3 s, and (issue 18) at most
  1.5x a bare ``@pytest.mark.parametrize`` over 10,000 ids, in the same run.
- sampling from a store of 1,000,000 runs: at most 5 s for every strategy, memory bounded.

Alternatives measured in the same run: the same 10,000 cases as a parametrized Python test that
loads the YAML files itself (what a user would write without the plugin), and pandas
``read_json(lines=True)`` of the whole index followed by ``DataFrame.sample``.

Each figure is measured in a fresh subprocess (collection: the four shapes interleaved, best of
``COLLECT_REPEATS``; sampling: the strategies interleaved, best of ``SAMPLE_REPEATS``; one run
of each swings by up to 1.5x on a shared box); targets are judged on the subprocess's CPU time
(user + sys), since wall time on a shared 2-core box also measures the neighbours. Wall time
and peak RSS are printed beside it. Subprocesses run with Python's default bytecode cache (in a
temporary PYTHONPYCACHEPREFIX, warmed once), even where PYTHONDONTWRITEBYTECODE is set: without
it every pytest start recompiles and re-rewrites every plugin module.

    python benchmarks/bench_nightmare.py [--cases 10000] [--runs 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

COLLECT_TARGET_S = 3.0
COLLECT_TARGET_RATIO = 1.5  # issue 18: against a bare parametrize over as many ids
COLLECT_REPEATS = 3
BARE = """
import pytest

@pytest.mark.parametrize("case_id", [f"case-{i:05d}" for i in range(CASES)])
def test_case(case_id):
    pass
"""
SAMPLE_TARGET_S = 5.0
SAMPLE_REPEATS = 2

CASE = """id: case-{i:05d}
description: generated case {i}
input:
  note: "# Note {i}\\nI write pytest fixtures every day."
  source: notes/case-{i}.md
checks:
- tool_trajectory: {{mode: strict, calls: [find_draft, list_tags, upsert_draft]}}
- contains: {{path: tags, value: pytest}}
tags: [generated, group-{g}]
severity: medium
"""

CONFTEST = """
import pytest

@pytest.fixture
def opsladder_agent():
    return lambda case_input: {"tags": ["pytest"]}
"""

PARAMETRIZED = """
import glob
import pytest
import yaml

CASES = [yaml.safe_load(open(p)) for p in sorted(glob.glob("cases/*.yaml"))]

@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case):
    assert case["checks"]
"""

SAMPLE_CHILD = """
import json, resource, sys, time
from pathlib import Path
from pytest_opsladder.store.index import IndexReadStats, iter_index_lines
from pytest_opsladder.store.sampling import SampleSpec, Strategy, StratumField, sample_lines
strategy, by = sys.argv[2], tuple(StratumField(b) for b in sys.argv[3].split(",") if b)
spec = SampleSpec(Strategy(strategy), 20, seed=1, by=by or (StratumField.STATUS,))
stats = IndexReadStats()
drawn = sample_lines(iter_index_lines(Path(sys.argv[1]), stats), spec, stats)
print(json.dumps({"drawn": len(drawn), "lines": stats.lines,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS_CHILD = """
import json, resource, sys
import pandas as pd
frame = pd.read_json(sys.argv[1], lines=True)
drawn = frame.sample(20, random_state=1)
print(json.dumps({"drawn": len(drawn), "lines": len(frame),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(args: list[str], cwd: Path | None = None) -> tuple[float, float, str]:
    """(cpu_s, wall_s, stdout) of one subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 5):
        raise SystemExit(
            f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
        )
    return cpu, wall, proc.stdout


def make_project(root: Path, cases: int) -> None:
    (root / "nightmare_set").mkdir(parents=True)
    (root / "cases").mkdir()
    (root / "pytest.ini").write_text("[pytest]\nopsladder_baseline = prod\n")
    (root / "conftest.py").write_text(CONFTEST)
    for i in range(cases):
        text = CASE.format(i=i, g=i % 10)
        (root / "nightmare_set" / f"case-{i:05d}.yaml").write_text(text)
        (root / "cases" / f"case-{i:05d}.yaml").write_text(text)
    (root / "test_parametrized.py").write_text(PARAMETRIZED)
    (root / "test_bare.py").write_text(BARE.replace("CASES", str(cases)))


def bench_collect(root: Path, cases: int) -> None:
    pytest_args = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    timed([*pytest_args, "nightmare_set/case-00000.yaml"], root)  # warm the bytecode cache
    shapes = {
        "nightmare": ("nightmare_set", cases),
        "parametrized": ("test_parametrized.py", cases),
        "bare": ("test_bare.py", cases),
        "start-up": ("nightmare_set/case-00000.yaml", 1),
    }
    best: dict[str, tuple[float, float]] = {}
    for _ in range(COLLECT_REPEATS):  # interleaved, best of: the machine is shared
        for name, (target, count) in shapes.items():
            cpu, wall, out = timed([*pytest_args, target], root)
            assert f"{count} test{'s' if count > 1 else ''} collected" in out, out[-300:]
            prior = best.get(name, (cpu, wall))
            best[name] = (min(prior[0], cpu), min(prior[1], wall))
    cpu, wall = best["nightmare"]
    bare_cpu = best["bare"][0]
    print(f"collect {cases} nightmare cases, best of {COLLECT_REPEATS} interleaved runs:")
    labels = {
        "nightmare": "the nightmare set (the plugin)",
        "parametrized": "alternative, parametrized test",
        "start-up": "pytest start-up, one case",
        "bare": "bare parametrize over the ids",
    }
    for name, label in labels.items():
        print(f"  {label:32}  cpu {best[name][0]:6.2f} s  wall {best[name][1]:6.2f} s")
    verdict = "PASS" if cpu <= COLLECT_TARGET_S else "MISS"
    print(f"  target <= {COLLECT_TARGET_S:.0f} s (cpu): {verdict}")
    ratio = cpu / bare_cpu
    verdict = "PASS" if ratio <= COLLECT_TARGET_RATIO else "MISS"
    print(f"  {ratio:.2f}x the bare parametrize (cpu), target <= {COLLECT_TARGET_RATIO}x {verdict}")


def write_index(path: Path, runs: int) -> None:
    """Index lines as capture() writes them, generated from a template (fast)."""
    template = (
        '{{"v":1,"run_id":"{i:032x}","started_at":"2026-11-{d:02d}T09:00:00.000Z",'
        '"case_id":"ticket-{c}","variant":"{var}","status":"{st}","error_code":{err},'
        '"tools":{tools},"denials":{den},"duration_s":{dur},"metrics":{{"latency_s":{dur},'
        '"tokens_in":{tin},"tokens_out":{tout},"tool_calls":{tc},"errors":0}},'
        '"input_hash":"{h:016x}"}}\n'
    )
    tool_sets = ['["search"]', '["search","refund"]', '["search","refund","send_email"]', "[]"]
    with path.open("w", buffering=1 << 20) as handle:
        for block in range(0, runs, 10_000):
            lines = []
            for i in range(block, min(runs, block + 10_000)):
                err = i % 50 == 0
                lines.append(
                    template.format(
                        i=i,
                        d=1 + i % 28,
                        c=i % 20_000,
                        var="prod" if i % 3 else "next",
                        st="error" if err else "complete",
                        err='"Timeout"' if err else "null",
                        tools=tool_sets[i % 4],
                        den=1 if i % 997 == 0 else 0,
                        dur=round(0.5 + (i % 37) / 20, 3),
                        tin=300 + i % 91,
                        tout=40 + i % 13,
                        tc=i % 4,
                        h=i % 20_000,
                    )
                )
            handle.write("".join(lines))


def bench_sample(path: Path, runs: int) -> None:
    print(f"sampling {runs:,} runs ({path.stat().st_size / 1e6:.0f} MB index), n=20, best of "
          f"{SAMPLE_REPEATS} interleaved passes:")  # fmt: skip
    shapes = [("uniform", ""), ("stratified", "status,variant"), ("stratified", "tool")]
    shapes.append(("interesting", ""))
    best: dict[tuple[str, str], tuple[float, float, dict[str, Any]]] = {}
    for _ in range(SAMPLE_REPEATS):  # one pass of the same code swung 4.0-6.3 s here
        for strategy, by in shapes:
            cpu, wall, out = timed([sys.executable, "-c", SAMPLE_CHILD, str(path), strategy, by])
            prior = best.get((strategy, by))
            if prior is None or cpu < prior[0]:
                best[(strategy, by)] = (cpu, wall, json.loads(out))
    for (strategy, by), (cpu, wall, info) in best.items():
        verdict = "PASS" if cpu <= SAMPLE_TARGET_S else "MISS"
        label = f"{strategy}{' by ' + by if by else ''}"
        print(
            f"  {label:28} cpu {cpu:6.2f} s  wall {wall:6.2f} s  peak RSS {info['rss_mb']:6.0f} MB"
            f"  drew {info['drawn']}  target <= {SAMPLE_TARGET_S:.0f} s: {verdict}"
        )
    cpu, wall, out = timed([sys.executable, "-c", PANDAS_CHILD, str(path)])
    info = json.loads(out)
    print(
        f"  {'alternative, pandas read_json':28} cpu {cpu:6.2f} s  wall {wall:6.2f} s  peak RSS "
        f"{info['rss_mb']:6.0f} MB  (whole index in memory)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ENV["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        make_project(root / "project", args.cases)
        bench_collect(root / "project", args.cases)
        index = root / "index.jsonl"
        start = time.perf_counter()
        write_index(index, args.runs)
        print(f"(generated the index in {time.perf_counter() - start:.1f} s)")
        bench_sample(index, args.runs)


if __name__ == "__main__":
    main()
