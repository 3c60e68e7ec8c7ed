"""monitors check: timed_out, missed, failing, thresholds, pause, run ids (ladder level 1)."""

from __future__ import annotations

import pytest

from pytest_opsladder.schedule.fixtures import MonitorKit


def kinds(kit: MonitorKit) -> list[tuple[str, str]]:
    return [(a["kind"], a["state"]) for a in kit.alerts()]


def test_a_start_without_success_within_grace_is_timed_out(opsladder_monitors: MonitorKit) -> None:
    kit = opsladder_monitors
    kit.add("etl", every="1h", grace="10m")
    kit.receipts.start("etl", "run-1")
    kit.clock.advance(minutes=10)
    kit.check()
    assert kit.alerts() == []
    kit.clock.advance(seconds=1)
    [report] = kit.check()
    assert report.status == "down"
    assert report.alert_kind == "timed_out"
    assert kinds(kit) == [("timed_out", "firing")]
    assert "no success/fail within 600s" in kit.alerts()[0]["message"]


def test_max_runtime_replaces_the_grace_for_started_runs(opsladder_monitors: MonitorKit) -> None:
    kit = opsladder_monitors
    kit.add("train", every="1d", grace="5m", max_runtime="2h")
    kit.receipts.start("train")
    kit.clock.advance(hours=1, minutes=59)
    assert kit.check()[0].status == "up"
    kit.clock.advance(minutes=2)
    assert kit.check()[0].alert_kind == "timed_out"


def test_no_receipt_by_next_expected_time_plus_grace_is_missed(
    opsladder_monitors: MonitorKit,
) -> None:
    kit = opsladder_monitors  # the clock starts at 2026-01-05 12:00 UTC
    kit.add("hourly", cron="0 * * * *", grace="5m")
    kit.clock.advance(hours=1, minutes=5)  # 13:05: due 13:00 + 5 min, not past yet
    assert kit.check()[0].outcomes == []
    kit.clock.advance(seconds=1)
    [report] = kit.check()
    assert report.outcomes == ["missed"]
    assert kit.alerts()[0]["message"].startswith(
        "hourly: no receipt for the run expected at 2026-01-05T13:00:00"
    )


def test_checks_are_idempotent(opsladder_monitors: MonitorKit) -> None:
    kit = opsladder_monitors
    kit.add("hourly", cron="0 * * * *", grace="5m")
    kit.clock.advance(hours=3, minutes=30)
    assert kit.check()[0].outcomes == ["missed", "missed", "missed"]
    assert kit.check()[0].outcomes == []
    assert kinds(kit) == [("missed", "firing")]


def test_a_success_for_run_a_does_not_close_run_b(opsladder_monitors: MonitorKit) -> None:
    kit = opsladder_monitors
    kit.add("sync", every="1d", grace="10m")
    kit.receipts.start("sync", "A")
    kit.receipts.start("sync", "B")
    kit.receipts.success("sync", "A")
    kit.clock.advance(minutes=11)
    [report] = kit.check()
    assert report.outcomes == ["ok", "timed_out"]  # A succeeded, B is still open and late
    assert report.alert_kind == "timed_out"


def test_a_fail_closes_every_open_start(opsladder_monitors: MonitorKit) -> None:
    kit = opsladder_monitors
    kit.add("sync", every="1d", grace="10m")
    kit.receipts.start("sync", "A")
    kit.receipts.start("sync", "B")
    kit.receipts.fail("sync", "A", "disk full; password=hunter2hunter2")
    kit.clock.advance(hours=1)
    [report] = kit.check()
    assert report.outcomes == ["failing"]  # no timed_out for B: the fail closed it
    assert "disk full" in kit.alerts()[0]["message"]
    assert "hunter2hunter2" not in kit.alerts()[0]["message"]


def test_a_receipt_before_the_window_opens_does_not_satisfy_it(
    opsladder_monitors: MonitorKit,
) -> None:
    kit = opsladder_monitors
    kit.add("daily", cron="0 14 * * *", grace="10m")  # 14:00 UTC
    kit.clock.advance(hours=1, minutes=59)  # 13:59: one minute early
    kit.receipts.success("daily")
    kit.clock.advance(minutes=12)  # 14:11
    assert kit.check()[0].outcomes == ["ok", "missed"]


def test_a_receipt_inside_the_window_satisfies_it(opsladder_monitors: MonitorKit) -> None:
    kit = opsladder_monitors
    kit.add("daily", cron="0 14 * * *", grace="10m")
    kit.clock.advance(hours=2, minutes=3)  # 14:03
    kit.receipts.success("daily")
    kit.clock.advance(hours=23)
    assert kit.check()[0].outcomes == ["ok"]


def test_alerts_fire_after_n_failures_and_resolve_after_m_successes(
    opsladder_monitors: MonitorKit,
) -> None:
    kit = opsladder_monitors
    kit.add("flaky", every="1h", grace="10m", failure_threshold=2, recovery_threshold=2)
    kit.receipts.fail("flaky")
    assert kit.check()[0].status == "up"
    kit.receipts.success("flaky")
    kit.receipts.fail("flaky")
    assert kit.check()[0].status == "up"  # not consecutive
    kit.receipts.fail("flaky")
    assert kit.check()[0].status == "down"
    kit.receipts.success("flaky")
    assert kit.check()[0].status == "down"
    kit.receipts.success("flaky")
    [report] = kit.check()
    assert report.status == "up"
    assert kinds(kit) == [("failing", "firing"), ("failing", "resolved")]
    assert "recovered after 2 consecutive" in kit.alerts()[1]["message"]


def test_a_pause_is_sticky(opsladder_monitors: MonitorKit) -> None:
    kit = opsladder_monitors
    kit.add("report", every="1h", grace="5m")
    kit.store.set_paused("report", True)
    kit.receipts.start("report")
    kit.receipts.fail("report")
    kit.receipts.success("report")
    kit.clock.advance(hours=5)
    [report] = kit.check()
    assert report.status == "paused"
    assert kit.store.get("report").paused
    assert kit.alerts() == []
    kit.store.set_paused("report", False)
    assert kit.check()[0].outcomes == []  # the schedule restarts at the resume
    kit.clock.advance(hours=1, minutes=6)
    assert kit.check()[0].outcomes == ["missed"]


def test_an_unknown_monitor_is_a_clear_error(opsladder_monitors: MonitorKit) -> None:
    from pytest_opsladder.schedule.errors import MonitorNotFoundError

    with pytest.raises(MonitorNotFoundError, match=r"no monitor named 'nope'.*monitors add nope"):
        opsladder_monitors.store.record_receipt("nope", "success")
    assert opsladder_monitors.receipts.success("nope") is False  # but a sender never raises


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": "61 * * * *"}, "cron expression '61 \\* \\* \\* \\*' is invalid"),
        ({"cron": "0 2 * * *", "timezone": "Mars/Olympus"}, "'Mars/Olympus' is not an IANA"),
        ({"every": "ten minutes"}, "is not a duration"),
        ({}, "exactly one schedule"),
        ({"every": 60, "failure_threshold": 0}, "failure_threshold 0"),
    ],
)
def test_bad_monitor_settings_say_what_and_how(fields: dict[str, object], message: str) -> None:
    from pytest_opsladder.schedule.errors import ScheduleConfigError
    from pytest_opsladder.schedule.monitors import Monitor

    with pytest.raises(ScheduleConfigError, match=message):
        Monitor.create("job", **fields)  # type: ignore[arg-type]
