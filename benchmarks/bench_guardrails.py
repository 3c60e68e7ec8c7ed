"""Benchmark (ladder level 4): one policy decision for a typical shell command.

Target: median <= 50 us and p99 <= 500 us per decision. Printed next to today's figure, the
deny-list detector this project shipped before the known-safe list (commit ``BASELINE``, run
from ``git archive`` in a subprocess so both are measured in the same run on the same
commands), and a naive regex deny-list over the raw text. SQL through a database client is
measured separately with distinct queries, so sqlglot's parse is timed, not its cache.

    python benchmarks/bench_guardrails.py
"""

from __future__ import annotations

import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASELINE = "4f7bb79"  # the last commit with the deny-list detector (before issue 13)
TARGET_MEDIAN_US, TARGET_P99_US = 50.0, 500.0
TYPICAL = [
    "git status && git diff --stat",
    "ls -la src",
    "grep -rn TODO src | head -20",
    "git log --oneline -n 5",
    "cat README.md",
    "rm -rf build",
    "python -m pytest -q -x tests",
    "find . -name '*.py' -maxdepth 2",
    "git reset --hard HEAD~1",
    "sed -n 1,20p src/app.py",
    "sudo timeout 5 sh -c 'rm -rf build'",
    "make deploy",
]
NAIVE = re.compile(
    r"rm\s+-rf|rm\s+-fr|git\s+push\s+(-f|--force)|git\s+reset\s+--hard|drop\s+table|truncate\s",
    re.IGNORECASE,
)
# (command, must it be allowed?): where a regex over the text, or a deny-list, goes wrong.
TRICKY = [
    ('echo "rm -rf /"', True),
    ("grep -n 'DROP TABLE' schema.sql", True),
    ("git diff HEAD~1", True),
    ("rm -r -f build", False),
    ("git reset --har origin/main", False),
    ("git clean --forc -d", False),
    ("sort -o/etc/passwd names.txt", False),
    ("sqlite3 -cmd 'select 1' app.db 'DROP TABLE drafts'", False),
    ("coproc rm -rf /", False),
    ("fakeroot rm -rf /", False),
    ("awk 'BEGIN{system(\"rm -rf /\")}'", False),
    ("./script.sh", False),
    ("psql -c '\\! rm -rf /'", False),
]


def policy_dict(workspace: str) -> dict[str, object]:
    return {
        "policy": {"workspace": workspace},
        "rules": [{"id": "shell", "tools": ["run_shell"], "decision": "allow"}],
        "shell": {"tools": ["run_shell"]},
    }


def timings_us(
    fn: Callable[[str], object],
    commands: list[str],
    rounds: int,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> list[float]:
    for command in commands:  # warm up: parser load, caches
        fn(command)
    samples = []
    gc.disable()  # as timeit does: a collection pause is not the decision's cost
    try:
        for _ in range(rounds):
            for command in commands:
                start = clock()
                fn(command)
                samples.append((clock() - start) / 1000)
    finally:
        gc.enable()
    return samples


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99)]


def best_of(
    fn: Callable[[str], object],
    commands: list[str],
    rounds: int,
    repeat: int = 5,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> tuple[float, float]:
    """(median, p99) of the quietest of ``repeat`` blocks, as timeit reports the best repeat."""
    blocks = [timings_us(fn, commands, max(1, rounds // repeat), clock) for _ in range(repeat)]
    return min(statistics.median(b) for b in blocks), min(p99(b) for b in blocks)


def measure(rounds: int) -> dict[str, Any]:
    """Time this checkout's decisions; also run as ``--measure`` under the baseline tree."""
    from pytest_opsladder.guardrails import policy_from_dict

    workspace = tempfile.mkdtemp()
    os.mkdir(os.path.join(workspace, "src"))
    policy = policy_from_dict(policy_dict(workspace))

    def decide(command: str) -> str:
        return str(policy.decide("run_shell", {"command": command}).verdict.value)

    median, tail = best_of(decide, TYPICAL, rounds)
    cpu_median, cpu_tail = best_of(decide, TYPICAL, rounds, clock=time.thread_time_ns)
    verdicts = {command: decide(command) for command, _ in TRICKY}
    return {
        "median": median, "p99": tail, "cpu_median": cpu_median, "cpu_p99": cpu_tail,
        "verdicts": verdicts,
    }  # fmt: skip


def baseline(rounds: int) -> dict[str, Any] | None:
    """The same measurement on the baseline commit's package, in a fresh interpreter."""
    root = Path(__file__).resolve().parent.parent
    tree = Path(tempfile.mkdtemp())
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", BASELINE, "pytest_opsladder"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    with tarfile.open(fileobj=__import__("io").BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, __file__, "--measure", str(rounds)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def sql_timings(rounds: int) -> list[float]:
    from pytest_opsladder.guardrails.policy_load import default_policy

    policy = default_policy(tempfile.mkdtemp())
    queries = [f"sqlite3 app.db 'SELECT id, name FROM t{i} WHERE id = {i}'" for i in range(rounds)]

    def decide(command: str) -> object:
        return policy.decide("run_shell", {"command": command})

    return timings_us(decide, queries, 1)  # distinct queries: one block, no repeats


def main() -> int:
    rounds = 2000
    ours = measure(rounds)
    old = baseline(rounds)
    regex = best_of(lambda c: bool(NAIVE.search(c)), TYPICAL, rounds)
    sql = sql_timings(300)
    _print_times(ours, old, regex, sql)
    cpu_ok = ours["cpu_median"] <= TARGET_MEDIAN_US and ours["cpu_p99"] <= TARGET_P99_US
    wall_ok = ours["median"] <= TARGET_MEDIAN_US and ours["p99"] <= TARGET_P99_US
    print(
        f"target: median <= {TARGET_MEDIAN_US:.0f} us, p99 <= {TARGET_P99_US:.0f} us -> "
        f"CPU time {'PASS' if cpu_ok else 'MISS'}, wall clock {'PASS' if wall_ok else 'MISS'}"
        f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    _wrong(ours, old)
    return 0 if cpu_ok else 1


def _print_times(
    ours: dict[str, Any], old: dict[str, Any] | None, regex: tuple[float, float], sql: list[float]
) -> None:
    row = "{:52} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f}"
    print(
        "{:52} {:>9} {:>9} {:>9} {:>9}".format(
            "per decision, us", "median", "p99", "cpu med", "cpu p99"
        )
    )
    print(row.format("known-safe list + detectors (this checkout)", *_four(ours)))
    if old is None:
        print(f"deny-list detector of {BASELINE}: not available (no git history)")
    else:
        print(row.format(f"deny-list detector of {BASELINE} (today's figure)", *_four(old)))
    print(row.format("naive regex deny-list over the raw text", *regex, float("nan"), float("nan")))
    tail = (statistics.median(sql), p99(sql), float("nan"), float("nan"))
    print(row.format("SQL via sqlite3, 300 distinct queries (sqlglot)", *tail))


def _four(result: dict[str, Any]) -> tuple[float, float, float, float]:
    keys = ("median", "p99", "cpu_median", "cpu_p99")
    return tuple(float(result.get(k, float("nan"))) for k in keys)  # type: ignore[return-value]


def _wrong(ours: dict[str, Any], old: dict[str, Any] | None) -> None:
    print("\nverdicts on tricky commands (must-allow / must-not-allow):")
    wrong = {"regex": 0, "old": 0, "new": 0}
    for command, harmless in TRICKY:
        regex_verdict = "deny" if NAIVE.search(command) else "allow"
        new = ours["verdicts"][command]
        before = old["verdicts"][command] if old else "?"
        for name, verdict in (("regex", regex_verdict), ("old", before), ("new", new)):
            wrong[name] += verdict != "?" and (verdict == "allow") != harmless
        print(f"  {command!r:56} regex {regex_verdict:5} {BASELINE} {before:5} now {new}")
    print(
        f"wrong on {len(TRICKY)}: regex {wrong['regex']}, {BASELINE} {wrong['old']}, "
        f"now {wrong['new']}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(int(sys.argv[2]))))
        raise SystemExit(0)
    raise SystemExit(main())
