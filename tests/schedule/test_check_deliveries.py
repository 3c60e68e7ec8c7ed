"""``opsladder monitors check`` tells its user about every alert it could not deliver: which
alert, to which sink (a secret in the URL masked), why, and exits non-zero (ladder level 1)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.schedule.check import MAX_DELIVERY_ATTEMPTS
from pytest_opsladder.schedule.monitors import Monitor
from pytest_opsladder.schedule.state import MonitorStore

Hook = Any  # tests/schedule/conftest.py's loopback server

TOKEN = "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0"  # a webhook's credential, in its path or query


def check(db: Path, *sinks: str) -> subprocess.CompletedProcess[str]:
    args = [a for sink in sinks for a in ("--sink", sink)]
    cmd = [sys.executable, "-m", "pytest_opsladder.cli", "monitors", "check", "--db", str(db)]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60)


def overdue(db: Path) -> None:
    two_hours_ago = time.time() - 7200
    MonitorStore(db, clock=lambda: two_hours_ago).add(Monitor.create("etl", every="1h", grace=60))


def state_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_a_500_and_a_refused_port_are_printed_with_masked_sinks_and_exit_1(
    tmp_path: Path, failing_webhook: Hook, down_url: str
) -> None:
    db = tmp_path / "m.sqlite"
    overdue(db)
    in_query = f"{failing_webhook.url}/hook?token={TOKEN}"
    in_path = f"{down_url}/api/webhooks/123456/{TOKEN}"
    result = check(db, f"webhook:{in_query}", f"webhook:{in_path}", f"file:{tmp_path / 'a.jsonl'}")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines == [
        f"opsladder monitors check: alert 'etl' (missed, firing) was NOT delivered to "
        f"webhook:{failing_webhook.url}/hook?token=<scrubbed>: HTTPError: HTTP Error 500: "
        "Internal Server Error. Attempt 1 of 5; the next check retries it.",
        f"opsladder monitors check: alert 'etl' (missed, firing) was NOT delivered to "
        f"webhook:{down_url}/api/webhooks/123456/<scrubbed>: URLError: <urlopen error "
        "[Errno 111] Connection refused>. Attempt 1 of 5; the next check retries it.",
    ]
    assert len(failing_webhook.received) == 1  # it was sent; the endpoint refused it
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN.encode() not in state_bytes(db)  # nor in the state file the check writes


def test_a_resolved_alert_that_cannot_be_delivered_is_not_all_well(
    tmp_path: Path, failing_webhook: Hook
) -> None:
    from pytest_opsladder.schedule.receipts import Receipts

    db, alerts = tmp_path / "m.sqlite", tmp_path / "a.jsonl"
    overdue(db)
    assert check(db, f"file:{alerts}").returncode == 1  # down, and the page arrived
    Receipts(str(db)).send("etl", "success")
    result = check(db, f"webhook:{failing_webhook.url}/ops")
    assert "etl                      up: ok" in result.stdout
    assert result.returncode == 1  # every monitor is up, but nobody heard that
    assert "alert 'etl' (missed, resolved) was NOT delivered to webhook:" in result.stderr
    assert "HTTP Error 500" in result.stderr


def test_each_retry_is_reported_and_the_last_one_says_so(
    tmp_path: Path, down_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "m.sqlite"
    overdue(db)
    sink = f"webhook:{down_url}/ops"
    for attempt in range(1, MAX_DELIVERY_ATTEMPTS + 1):
        assert main(["monitors", "check", "--db", str(db), "--sink", sink]) == 1
        err = capsys.readouterr().err
        assert f"Attempt {attempt} of {MAX_DELIVERY_ATTEMPTS}" in err
    assert "no more retries. Fix the sink, or add another (--sink file:PATH)" in err


def test_a_broken_state_file_alert_that_cannot_be_delivered_is_printed(
    tmp_path: Path, failing_webhook: Hook
) -> None:
    result = check(tmp_path / "missing.sqlite", f"webhook:{failing_webhook.url}/ops")
    assert result.returncode == 2
    assert (
        "alert 'opsladder-monitors' (state_error, firing) was NOT delivered to "
        f"webhook:{failing_webhook.url}/ops: HTTPError: HTTP Error 500" in result.stderr
    )
    assert "Traceback" not in result.stderr
