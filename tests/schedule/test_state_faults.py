"""Ladder level 1: monitors hold under overlap and under a damaged state file.

Overlapping `opsladder monitors check` runs (real processes, released together) raise each
alert once; a state file that is deleted, emptied, corrupt, of the wrong type, unreadable or
on a full disk makes `check` fail loud (exit 2, an alert on every sink), never "all up".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.schedule.check import CLAIM_LEASE_S, check_monitors
from pytest_opsladder.schedule.errors import MonitorStateError
from pytest_opsladder.schedule.fixtures import MonitorKit
from pytest_opsladder.schedule.monitors import Monitor
from pytest_opsladder.schedule.state import MonitorStore

# Imports first, then waits on stdin: the parent releases every process at once.
_CHECKER = """
import sys
from pytest_opsladder.cli import main
sys.stdin.read(1)
sys.exit(main(["monitors", "check", "--db", sys.argv[1], "--sink", "file:" + sys.argv[2]]))
"""


def overdue_monitors(db: Path, names: list[str]) -> None:
    two_hours_ago = time.time() - 7200
    store = MonitorStore(db, clock=lambda: two_hours_ago)
    for name in names:
        store.add(Monitor.create(name, every="1h", grace=60))


def run_checks_together(db: Path, alerts: Path, n: int) -> list[int]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHECKER, str(db), str(alerts)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"x")
        proc.stdin.close()
    return [proc.wait(timeout=120) for proc in procs]


def test_overlapping_checks_raise_each_alert_once(tmp_path: Path) -> None:
    db, alerts = tmp_path / "m.sqlite", tmp_path / "alerts.jsonl"
    names = ["etl", "backup", "report"]
    overdue_monitors(db, names)
    assert run_checks_together(db, alerts, 6) == [1] * 6  # every one sees them down
    check_monitors(MonitorStore(db), [])  # and a later check finds nothing new to send
    sent = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert sorted((a["name"], a["kind"], a["state"]) for a in sent) == [
        (name, "missed", "firing") for name in sorted(names)
    ]
    assert len(MonitorStore(db).alerts()) == 3


def test_an_alert_whose_sender_crashed_is_delivered_once_after_the_lease(
    opsladder_monitors: MonitorKit,
) -> None:
    kit = opsladder_monitors
    kit.add("etl", every="1h", grace="1m")
    kit.store.add_alert("etl", "firing", "missed", "etl: no receipt")  # claimed, then a crash
    kit.check()
    assert kit.alerts() == []  # the claim is fresh: its owner may still be sending
    kit.clock.advance(CLAIM_LEASE_S + 1)
    kit.check()
    kit.check()
    assert [a["message"] for a in kit.alerts()].count("etl: no receipt") == 1


def check_cli(db: Path, tmp_path: Path) -> tuple[int, list[dict[str, object]]]:
    alerts = tmp_path / "state-alerts.jsonl"
    code = main(["monitors", "check", "--db", str(db), "--sink", f"file:{alerts}"])
    sent = [json.loads(x) for x in alerts.read_text().splitlines()] if alerts.exists() else []
    return code, sent


def _deleted(db: Path) -> None:
    db.unlink()


def _emptied(db: Path) -> None:
    db.write_bytes(b"")
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)


def _corrupt(db: Path) -> None:
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)


def _directory(db: Path) -> None:
    _deleted(db)
    db.mkdir()


def _fifo(db: Path) -> None:
    _deleted(db)
    os.mkfifo(db)


def _bad_row(db: Path) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE monitors SET spec = 'not json'")
    conn.close()


def _foreign(db: Path) -> None:
    import sqlite3

    _deleted(db)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()


def _loop(db: Path) -> None:  # unreadable for root too: ELOOP
    _deleted(db)
    db.symlink_to(db)


FAULTS = [
    ("deleted", _deleted, "does not exist"),
    ("emptied", _emptied, "is empty"),
    ("corrupt", _corrupt, "not a database"),
    ("directory", _directory, "not a regular file"),
    ("fifo", _fifo, "not a regular file"),
    ("corrupt monitor row", _bad_row, "unreadable definition"),
    ("another SQLite file", _foreign, "not a monitors state file"),
    ("unreadable (symlink loop)", _loop, "cannot be used"),
]


@pytest.mark.parametrize(("fault", "damage", "says"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_damaged_state_file_fails_the_check_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str, damage: object, says: str
) -> None:
    db = tmp_path / "m.sqlite"
    overdue_monitors(db, ["etl"])
    damage(db)  # type: ignore[operator]
    code, sent = check_cli(db, tmp_path)
    assert code == 2
    assert says in capsys.readouterr().err
    assert [(a["name"], a["kind"]) for a in sent] == [("opsladder-monitors", "state_error")]
    assert not (db.exists() and db.is_file() and db.stat().st_size and fault == "deleted")


def _set_spec(db: Path, spec: str) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE monitors SET spec = ?", (spec,))
    conn.close()


def _spec_with(**fields: object) -> str:
    spec = Monitor.create("etl", every="1h", grace=60).to_dict()
    return json.dumps({**spec, **fields})  # json writes NaN and Infinity as Python reads them


BAD_SPECS = {
    "a list": "[]",
    "a string": '"x"',
    "a number": "1",
    "null": "null",
    "nested too deep": "[" * 100_000 + "]" * 100_000,
    "grace Infinity": _spec_with(grace=float("inf")),
    "grace 1e300": _spec_with(grace=1e300),
    "grace 400 digits": _spec_with(grace="9" * 400 + "s"),
    "grace NaN": _spec_with(grace=float("nan")),
    "grace negative": _spec_with(grace=-1),
    "grace true": _spec_with(grace=True),
    "grace a list": _spec_with(grace=[60]),
    "every Infinity": _spec_with(every=float("inf")),
    "max_runtime Infinity": _spec_with(max_runtime=float("inf")),
    "failure_threshold true": _spec_with(failure_threshold=True),
    "failure_threshold 1.5": _spec_with(failure_threshold=1.5),
    "recovery_threshold Infinity": _spec_with(recovery_threshold=float("inf")),
    "cron a number": _spec_with(every=None, cron=5),
    "timezone a list": _spec_with(timezone=["UTC"]),
}


@pytest.mark.parametrize("spec", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_a_monitor_row_of_any_bad_shape_or_value_is_unreadable_not_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str
) -> None:
    db = tmp_path / "m.sqlite"
    overdue_monitors(db, ["etl"])
    _set_spec(db, spec)
    code, sent = check_cli(db, tmp_path)
    assert (code, [(a["name"], a["kind"]) for a in sent]) == (
        2,
        [("opsladder-monitors", "state_error")],
    )
    err = capsys.readouterr().err
    assert "monitor 'etl' in the state file has an unreadable definition" in err
    assert "Traceback" not in err


def test_list_on_a_deleted_state_file_does_not_recreate_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "m.sqlite"
    assert main(["monitors", "list", "--db", str(db)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not db.exists()


def test_a_receipt_for_a_corrupt_state_file_is_spooled_not_lost(tmp_path: Path) -> None:
    from pytest_opsladder.schedule.receipts import Receipts

    db = tmp_path / "m.sqlite"
    overdue_monitors(db, ["etl"])
    _corrupt(db)
    receipts = Receipts(db, spool=tmp_path / "spool.jsonl")
    receipts.send("etl", "success")
    assert receipts.last_delivery == "retry"
    assert [r["monitor"] for r in receipts.pending()] == ["etl"]


_FULL_DISK = """
import resource, signal, sys
from pytest_opsladder.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
sys.exit(main(["monitors", "check", "--db", sys.argv[1], "--sink", "stderr"]))
"""


def test_a_full_disk_fails_the_check_and_records_nothing(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite"
    overdue_monitors(db, ["etl"])
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(db)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "state_error" in done.stderr
    assert "Traceback" not in done.stderr
    assert MonitorStore(db).alerts() == []  # the transaction rolled back: the next check alerts
    assert [r.status for r in check_monitors(MonitorStore(db), [])] == ["down"]


def test_the_api_refuses_missing_state_unless_creating(tmp_path: Path) -> None:
    with pytest.raises(MonitorStateError, match="does not exist") as info:
        MonitorStore(tmp_path / "gone.sqlite", create=False)
    assert info.value.path == tmp_path / "gone.sqlite"
    assert MonitorStore(tmp_path / "new.sqlite").all() == []  # creating is explicit


def test_a_state_file_deleted_under_a_running_receiver_is_not_recreated(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite"
    store = MonitorStore(db)  # as `monitors serve` holds it
    store.add(Monitor.create("etl", every="1h"))
    for path in tmp_path.glob("m.sqlite*"):
        path.unlink()
    with pytest.raises(MonitorStateError, match="cannot be used"):
        store.record_receipt("etl", "success")
    assert not db.exists()
