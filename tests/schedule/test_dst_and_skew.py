"""DST spring-forward and fall-back with a daily and an hourly cron; clock skew of an hour."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from pytest_opsladder.schedule.expected import Schedule
from pytest_opsladder.schedule.fixtures import MonitorKit

NY = ZoneInfo("America/New_York")  # 2026: clocks jump 02:00->03:00 on Mar 8, 02:00->01:00 Nov 1


def utc(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def local(*args: int, fold: int = 0) -> float:
    return dt.datetime(*args, tzinfo=NY, fold=fold).timestamp()


def due_times(expr: str, start: float, end: float) -> list[tuple[float, float]]:
    schedule, out, t = Schedule(cron=expr, tz="America/New_York"), [], start
    while True:
        slot = schedule.next_slot(t)
        if slot.opens >= end:
            return out
        out.append((slot.opens, slot.due))
        t = slot.opens


def test_daily_cron_in_a_skipped_hour_still_runs_that_day() -> None:
    slots = due_times("30 2 * * *", utc(2026, 3, 7, 12), utc(2026, 3, 10, 0))
    assert slots == [
        (utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 7, 30)),  # opens at the jump, due 03:30 EDT
        (utc(2026, 3, 9, 6, 30), utc(2026, 3, 9, 6, 30)),  # 02:30 EDT
    ]


def test_daily_cron_in_a_repeated_hour_runs_once() -> None:
    slots = due_times("30 1 * * *", utc(2026, 10, 31, 12), utc(2026, 11, 2, 12))
    assert slots == [
        (local(2026, 11, 1, 1, 30), local(2026, 11, 1, 1, 30, fold=1)),  # one slot, both 01:30s
        (utc(2026, 11, 2, 6, 30), utc(2026, 11, 2, 6, 30)),
    ]


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        ((2026, 3, 8, 5), (2026, 3, 9, 4), 23),  # the local day of spring-forward has 23 hours
        ((2026, 11, 1, 4), (2026, 11, 2, 5), 25),  # and fall-back's has 25
        ((2026, 6, 1, 4), (2026, 6, 2, 4), 24),
    ],
)
def test_hourly_cron_expects_every_real_hour(
    start: tuple[int, ...], end: tuple[int, ...], count: int
) -> None:
    slots = due_times("0 * * * *", utc(*start) - 1, utc(*end) - 1)
    assert len(slots) == count
    assert all(b[0] - a[0] == 3600 for a, b in itertools.pairwise(slots))


@pytest.mark.parametrize(
    ("cron", "runs"),
    [
        # a cron daemon runs a skipped 02:30 right after the jump (03:00 EDT = 07:00 UTC)
        ("30 2 * * *", [(2026, 3, 7, 7, 31), (2026, 3, 8, 7, 1), (2026, 3, 9, 6, 31)]),
        # a repeated 01:30 runs once, at the first occurrence (05:30 UTC)
        ("30 1 * * *", [(2026, 10, 31, 5, 31), (2026, 11, 1, 5, 31), (2026, 11, 2, 6, 31)]),
    ],
)
def test_a_job_run_by_cron_across_dst_raises_no_alert(
    opsladder_monitors: MonitorKit, cron: str, runs: list[tuple[int, ...]]
) -> None:
    kit = opsladder_monitors
    kit.clock.set(utc(*runs[0]) - 120)
    kit.add("daily", cron=cron, timezone="America/New_York", grace="10m")
    for when in runs:
        kit.clock.set(utc(*when))
        kit.receipts.success("daily")
        kit.clock.advance(hours=2)
        kit.check()
    assert kit.alerts() == []


@pytest.mark.parametrize(
    ("start", "hours", "missed"),
    [((2026, 3, 8, 4, 30), 24, 23), ((2026, 11, 1, 3, 30), 26, 25)],
)
def test_an_hourly_job_that_stops_is_missed_once_per_real_hour(
    opsladder_monitors: MonitorKit, start: tuple[int, ...], hours: int, missed: int
) -> None:
    kit = opsladder_monitors
    kit.clock.set(utc(*start))
    kit.add("hourly", cron="0 * * * *", timezone="America/New_York", grace="5m")
    kit.clock.advance(hours=hours - 1)
    [report] = kit.check()
    assert report.outcomes.count("missed") == missed


def test_a_receipt_from_a_job_whose_clock_is_an_hour_ahead_uses_the_receivers_time(
    opsladder_monitors: MonitorKit, tmp_path: object
) -> None:
    from pytest_opsladder.schedule.clock import ManualClock
    from pytest_opsladder.schedule.receipts import Receipts
    from pytest_opsladder.schedule.receiver import ReceiptServer

    kit = opsladder_monitors  # receiver clock: 12:00 UTC
    kit.add("hourly", cron="0 * * * *", grace="10m")
    server = ReceiptServer(kit.store, ("127.0.0.1", 0))
    server.serve_in_thread()
    try:
        kit.clock.advance(minutes=5)  # 12:05 at the receiver
        job_clock = ManualClock(kit.clock() + 3600)  # 13:05 on the job's skewed clock
        sender = Receipts(server.url, clock=job_clock, spool=f"{tmp_path}/spool", timeout=5)
        assert sender.success("hourly")
    finally:
        server.shutdown()
        server.server_close()
    [receipt] = kit.store.receipts("hourly")
    assert receipt["received_at"] == kit.clock()
    assert receipt["sent_at"] == kit.clock() + 3600
    kit.clock.advance(hours=1, minutes=6)  # 13:11: the 13:00 run never reported
    assert kit.check()[0].outcomes == ["ok", "missed"]
