"""Benchmark (ladder level 4): one policy decision for a typical shell command.

Target: median <= 50 us per decision. Printed next to the alternative a user would otherwise
pick, measured in the same run: a naive regex deny-list over the raw text (fast, and wrong in
both directions, listed below), and bashlex, the pure-Python bash parser, parse only.

    python benchmarks/bench_guardrails.py
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pytest_opsladder.guardrails import policy_from_dict

TARGET_US = 50.0
TYPICAL = [
    "git status && git diff --stat",
    "ls -la src",
    "grep -rn TODO src | head -20",
    "git log --oneline -n 5",
    "cat README.md",
    "rm -rf build",
]
NAIVE = re.compile(
    r"rm\s+-rf|rm\s+-fr|git\s+push\s+(-f|--force)|git\s+reset\s+--hard|drop\s+table|truncate\s",
    re.IGNORECASE,
)
# (command, should it be allowed?) cases where a regex over the text disagrees with the parser.
TRICKY = [
    ('echo "rm -rf /"', True),
    ("git commit -m 'never git push --force'", True),
    ("grep -n 'DROP TABLE' schema.sql", True),
    ("rm -r -f build", False),
    ("rm --recursive --force build", False),
    ("git push origin +main", False),
    ("r''m -rf /", False),
    ("sh -c 'rm  -r  -f x'", False),
    ("psql -c 'DELETE FROM users'", False),
    ("find . -delete", False),
    ("ls\u200b; rm -r -f x", False),
]


def median_us(fn: Callable[[str], object], commands: list[str], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        for command in commands:
            start = time.perf_counter_ns()
            fn(command)
            samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def main() -> int:
    workspace = Path(tempfile.mkdtemp())
    (workspace / "src").mkdir()
    policy = policy_from_dict(
        {
            "policy": {"workspace": str(workspace)},
            "rules": [{"id": "shell", "tools": ["run_shell"], "decision": "allow"}],
            "shell": {"tools": ["run_shell"]},
        }
    )
    decide = lambda c: policy.decide("run_shell", {"command": c})  # noqa: E731
    naive = lambda c: bool(NAIVE.search(c))  # noqa: E731
    for command in TYPICAL:  # warm up: parser load, caches
        decide(command)
    ours = median_us(decide, TYPICAL, 3000)
    regex = median_us(naive, TYPICAL, 3000)
    print(f"policy decision (tree-sitter-bash parse + rules), median: {ours:7.2f} us")
    print(f"naive regex deny-list over the raw text, median:         {regex:7.2f} us")
    _bashlex()
    ok = ours <= TARGET_US
    print(f"target: median <= {TARGET_US:.0f} us per decision -> {'PASS' if ok else 'MISS'}")
    _wrong(decide, naive)
    return 0 if ok else 1


def _bashlex() -> None:
    try:
        import bashlex
    except ImportError:
        print("bashlex (pure-Python parser), parse only:          not installed")
        return
    parse_us = median_us(bashlex.parse, TYPICAL, 300)
    print(f"bashlex (pure-Python parser), parse only, median:     {parse_us:7.2f} us")


def _wrong(decide: Callable[[str], object], naive: Callable[[str], bool]) -> None:
    regex_wrong = parser_wrong = 0
    print("\nwhere the regex deny-list is wrong (regex verdict / policy verdict):")
    for command, harmless in TRICKY:
        regex_allows = not naive(command)
        verdict = decide(command).verdict.value  # type: ignore[attr-defined]
        parser_ok = (verdict == "allow") == harmless
        regex_wrong += regex_allows != harmless
        parser_wrong += not parser_ok
        if regex_allows != harmless:
            shown = "allow" if regex_allows else "deny"
            print(f"  {command!r:45} regex: {shown:5}  policy: {verdict}")
    print(f"wrong on {len(TRICKY)} tricky commands: regex {regex_wrong}, policy {parser_wrong}")


if __name__ == "__main__":
    raise SystemExit(main())
