"""``opsladder nightmare stats``: what the set holds and how its cases behave (level 7)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pytest_opsladder._visible import field
from pytest_opsladder.nightmare import curate
from pytest_opsladder.nightmare.case import NightmareCase
from pytest_opsladder.nightmare.history import CaseHistory, case_histories


def print_stats(root: Path, *, flaky_only: bool = False) -> int:
    cases = curate.load_cases(root)
    histories = case_histories(root)
    if not flaky_only:
        _summary(root, cases, len(curate.retired_cases(root)))
    rows = [h for h in histories.values() if h.flaky or not flaky_only]
    flaky = sum(1 for h in histories.values() if h.flaky)
    print(f"history: {len(histories)} case(s) with verdicts, {flaky} flaky")
    for h in sorted(rows, key=lambda h: (not h.flaky, h.case_id)):
        print(_row(h))
    return 0


def _summary(root: Path, cases: list[NightmareCase], retired: int) -> None:
    severities = Counter(c.severity.value for c in cases)
    tags = Counter(t for c in cases for t in c.tags)
    missing = [c.id for c in cases if not curate.case_cassettes(root, c.id).exists()]
    print(f"cases: {len(cases)} active, {retired} retired")
    print("severity: " + ", ".join(f"{k}={v}" for k, v in sorted(severities.items())))
    print("tags: " + (", ".join(f"{field(k)}={v}" for k, v in tags.most_common(10)) or "-"))
    print(
        f"without a cassette: {len(missing)}" + (f" ({', '.join(missing[:5])})" if missing else "")
    )


def _row(h: CaseHistory) -> str:
    rate = f"{h.pass_rate:.0%}" if h.pass_rate is not None else "-"
    flag = "FLAKY" if h.flaky else ""
    case = field(h.case_id)
    return f"  {case:40} runs={h.runs:<4} pass={rate:>4} flips={h.flips:<3} {flag}".rstrip()
