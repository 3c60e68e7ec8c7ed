"""Idempotency under faults (issue 15): crashes, unstorable results, stores that fail."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.idempotency import (
    IdempotencyInProgressError,
    IdempotencyLockLostError,
    IdempotencyMismatchError,
    IdempotencyStore,
    IdempotencyStoreError,
    IdempotencyStoreOpenError,
    IdempotencyUnrecordedError,
    Status,
    claim,
    execute,
    fingerprint,
)
from pytest_opsladder.idempotency.errors import IdempotencyConfigError
from pytest_opsladder.schedule.clock import ManualClock


def _counting() -> tuple[list[str], Callable[[str], Callable[[], str]]]:
    ran: list[str] = []

    def action(value: str) -> Callable[[], str]:
        return lambda: ran.append(value) or value  # type: ignore[func-returns-value]

    return ran, action


def test_a_retry_with_another_payload_after_a_crash_is_a_mismatch(
    store: IdempotencyStore, clock: ManualClock
) -> None:
    ran, action = _counting()
    store.acquire("refund-7", {"amount": 10})  # the holder crashed: no record, no release
    clock.advance(61)
    with pytest.raises(IdempotencyMismatchError, match="refund-7"):
        execute(store, "refund-7", {"amount": 99}, action("other payload"))
    assert ran == []
    assert store.get("refund-7").fingerprint == fingerprint({"amount": 10})  # type: ignore[union-attr]


_CRASHED_HOLDER = """
import os, sys
from pytest_opsladder.idempotency import IdempotencyStore
target, workflow, now = sys.argv[1:4]
store = IdempotencyStore.open(target, workflow=workflow, lock_expiry=60,
    clock=lambda: float(now), redis_server_time=False)
store.acquire("mail-1", {"to": "a"})  # a started claim, as execute() makes
os._exit(9)  # the crash: did the side effect happen? nobody knows
"""


def test_a_started_claim_whose_holder_died_is_unrecorded_not_run_again(
    target: str, workflow: str, store: IdempotencyStore, clock: ManualClock
) -> None:
    args = [target, workflow, repr(clock())]
    crashed = subprocess.run([sys.executable, "-c", _CRASHED_HOLDER, *args], timeout=60)
    assert crashed.returncode == 9
    ran, action = _counting()
    with pytest.raises(IdempotencyInProgressError):  # the lock still stands: no blind retry
        execute(store, "mail-1", {"to": "a"}, action("early"))
    clock.advance(61)
    with pytest.raises(IdempotencyUnrecordedError, match="mail-1") as held:
        execute(store, "mail-1", {"to": "a"}, action("twice"))
    assert held.value.key.endswith(":mail-1")
    assert "opsladder idempotency release" in str(held.value)
    clock.advance(3600)  # no amount of waiting runs it again
    with pytest.raises(IdempotencyUnrecordedError):
        execute(store, "mail-1", {"to": "a"}, action("twice"), wait=5)
    assert ran == []
    assert store.get("mail-1").status is Status.COMPLETED_UNRECORDED  # type: ignore[union-attr]


def test_an_interrupted_claim_of_this_process_is_unrecorded_too(
    store: IdempotencyStore, clock: ManualClock
) -> None:
    with pytest.raises(KeyboardInterrupt), claim(store, "sms-1", {}):
        raise KeyboardInterrupt  # mid side effect
    clock.advance(61)
    with pytest.raises(IdempotencyUnrecordedError, match="sms-1"):
        execute(store, "sms-1", {}, lambda: "again")


def test_a_slow_holder_of_this_process_is_taken_over_after_expiry(
    store: IdempotencyStore, clock: ManualClock
) -> None:
    slow = store.acquire("job-1", {})  # another thread or task of ours, still working
    clock.advance(61)
    assert execute(store, "job-1", {}, lambda: "took over") == "took over"
    with pytest.raises(IdempotencyLockLostError):
        slow.complete("late")


def test_an_unstorable_result_marks_the_key_unrecorded_and_names_it(
    store: IdempotencyStore, clock: ManualClock
) -> None:
    ran: list[int] = []

    def send() -> object:
        ran.append(1)
        return object()  # the side effect happened; its result is not JSON

    with pytest.raises(IdempotencyUnrecordedError, match=r"mail-2.*could not be stored") as err:
        execute(store, "mail-2", {}, send)
    assert err.value.key.endswith(":mail-2")
    clock.advance(10_000)  # the lock would long have expired: still never run again
    with pytest.raises(IdempotencyUnrecordedError, match="completed_unrecorded"):
        execute(store, "mail-2", {}, send)
    assert ran == [1]


def test_cli_shows_unrecorded_keys_and_release_frees_only_them(
    target: str, workflow: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = IdempotencyStore.open(target, workflow=workflow)
    with pytest.raises(IdempotencyUnrecordedError):
        execute(store, "pay-3", {}, object)
    execute(store, "pay-4", {}, lambda: "ok")
    assert main(["idempotency", "list", target, "--prefix", workflow]) == 0
    out = capsys.readouterr().out
    assert f"{workflow}:pay-3" in out
    assert "2 key(s), 1 completed_unrecorded" in out
    assert main(["idempotency", "release", target, f"{workflow}:pay-4"]) == 2
    assert "is completed, not completed_unrecorded" in capsys.readouterr().err
    assert main(["idempotency", "release", target, f"{workflow}:pay-3"]) == 0
    assert execute(store, "pay-3", {}, lambda: "second try") == "second try"
    store.backend.clear(workflow)


def test_sqlite_locked_past_its_timeout_raises_the_store_error(tmp_path: Path) -> None:
    path = tmp_path / "idem.sqlite"
    store = IdempotencyStore.open(path, timeout=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    ran, action = _counting()
    with pytest.raises(IdempotencyStoreError, match=r"'default:k'.*database is locked") as err:
        execute(store, "k", {}, action("x"))
    assert err.value.key == "default:k"
    open_store = IdempotencyStore.open(path, timeout=0.05, on_store_error="open")
    assert execute(open_store, "k", {}, action("unguarded")) == "unguarded"
    assert ran == ["unguarded"]
    blocker.execute("ROLLBACK")
    assert store.get("k") is None  # fail-open ran it unguarded: nothing was recorded


def test_a_full_disk_during_the_action_is_a_store_error_never_a_rerun(
    tmp_path: Path, file_size_limit: Callable[[int], None]
) -> None:
    store = IdempotencyStore.open(tmp_path / "idem.sqlite", lock_expiry=0)
    ran: list[int] = []

    def fill_the_disk() -> str:
        ran.append(1)
        file_size_limit(1)
        return "x" * 200_000

    with pytest.raises(IdempotencyStoreError, match="the action ran, but its result could not"):
        execute(store, "big", {}, fill_the_disk)
    file_size_limit(2**40)
    with pytest.raises(IdempotencyUnrecordedError):  # lock expired (0 s): unrecorded, not rerun
        execute(store, "big", {}, fill_the_disk)
    assert ran == [1]


def test_redis_down_after_open_raises_the_store_error(
    doomed_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, server = doomed_redis
    store = IdempotencyStore.open(url, timeout=0.5)
    opened = IdempotencyStore.open(url, timeout=0.5, on_store_error="open")
    closed_after_effect: list[str] = []

    def action() -> str:
        closed_after_effect.append("sent")
        server.kill()  # the store dies between the side effect and its record
        server.wait()
        return "sent"

    with pytest.raises(IdempotencyStoreError, match="the action ran"):
        execute(store, "k1", {}, action)
    ran, other = _counting()
    with pytest.raises(IdempotencyStoreError, match="ConnectionError") as err:
        execute(store, "k2", {}, other("never"))
    assert not isinstance(err.value.__cause__, IdempotencyStoreError)
    assert ran == []
    assert closed_after_effect == ["sent"]
    assert execute(opened, "k2", {}, other("unguarded")) == "unguarded"
    with pytest.raises(IdempotencyStoreOpenError, match="cannot reach"):
        IdempotencyStore.open(url, timeout=0.5)


def test_on_store_error_is_a_checked_choice(tmp_path: Path) -> None:
    with pytest.raises(IdempotencyConfigError.__mro__[1], match="Valid values are: closed, open"):
        IdempotencyStore.open(tmp_path / "s.sqlite", on_store_error="maybe")


@pytest.mark.parametrize("kind", ["directory", "fifo", "corrupt", "symlink loop", "under a file"])
def test_a_store_path_that_is_not_a_database_is_refused_at_open(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "idem.sqlite"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it would block SQLite forever
    elif kind == "corrupt":
        path.write_bytes(b"this is not a database" * 100)
    elif kind == "symlink loop":
        path.symlink_to(path)
    else:
        (tmp_path / "file").write_text("x")
        path = tmp_path / "file" / "idem.sqlite"
    with pytest.raises(IdempotencyStoreOpenError, match=r"idem\.sqlite"):
        IdempotencyStore.open(path)


def test_a_store_deleted_while_open_refuses_to_forget_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "idem.sqlite"
    store = IdempotencyStore.open(path)
    ran, action = _counting()
    execute(store, "once", {}, action("first"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(IdempotencyStoreError, match="deleted or replaced while open"):
        execute(store, "once", {}, action("second"))
    assert ran == ["first"]


_SLOW_HOLDER = """
import sys, time
from pytest_opsladder.idempotency import IdempotencyStore, execute
target, workflow, effects = sys.argv[1:4]
store = IdempotencyStore.open(target, workflow=workflow, lock_expiry=60,
    clock=lambda: time.time() - 3600, redis_server_time=False)  # its lock reads expired at once

def refund():
    print("claimed", flush=True)
    sys.stdin.readline()  # still working: its side effect is yet to come
    with open(effects, "a") as log:
        log.write("refund by the slow holder\\n")
    return "slow"

execute(store, "refund-8", {"order": 8}, refund)
"""


def test_release_refuses_while_the_holder_still_runs_so_nothing_runs_twice(
    target: str, workflow: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    effects = tmp_path / "effects.log"
    key = f"{workflow}:refund-8"
    with subprocess.Popen(
        [sys.executable, "-c", _SLOW_HOLDER, target, workflow, str(effects)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdin is not None
        assert holder.stdout.readline() == "claimed\n"
        assert main(["idempotency", "list", target, "--prefix", workflow]) == 0
        assert f"holder pid {holder.pid} on " in capsys.readouterr().out
        assert main(["idempotency", "release", target, key]) == 2
        assert "still runs on this host" in capsys.readouterr().err
        store = IdempotencyStore.open(target, workflow=workflow)
        with pytest.raises(IdempotencyUnrecordedError):  # another caller: not run again
            execute(store, "refund-8", {"order": 8}, lambda: effects.write_text("retry\n"))
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    assert effects.read_text() == "refund by the slow holder\n"
    assert store.get("refund-8").status is Status.COMPLETED  # type: ignore[union-attr]
    store.backend.clear(workflow)


def test_list_says_a_holder_that_died_on_this_host_crashed_and_release_frees_it(
    target: str, workflow: str, store: IdempotencyStore, capsys: pytest.CaptureFixture[str]
) -> None:
    now = repr(time.time() - 3600)  # the dead holder's lock has long expired
    crashed = subprocess.run([sys.executable, "-c", _CRASHED_HOLDER, target, workflow, now])
    assert crashed.returncode == 9
    assert main(["idempotency", "list", target, "--prefix", workflow]) == 0
    out = capsys.readouterr().out
    assert "is gone: crashed (lock expired" in out
    assert "1 key(s), 1 completed_unrecorded" in out
    key = f"{workflow}:mail-1"
    assert main(["idempotency", "release", target, key, "--holder", "someone-else"]) == 2
    assert "was not released: it is now held by" in capsys.readouterr().err
    assert main(["idempotency", "release", target, key]) == 0
    assert execute(store, "mail-1", {"to": "a"}, lambda: "sent once") == "sent once"


def test_release_deletes_only_the_record_it_inspected(
    target: str, workflow: str, store: IdempotencyStore, clock: ManualClock
) -> None:
    now = repr(clock())
    crashed = subprocess.run([sys.executable, "-c", _CRASHED_HOLDER, target, workflow, now])
    assert crashed.returncode == 9
    clock.advance(61)
    inspected = store.get("mail-1")
    assert inspected is not None
    with pytest.raises(IdempotencyUnrecordedError):  # a caller marks it meanwhile
        execute(store, "mail-1", {"to": "a"}, lambda: "twice")
    assert not store.backend.release_record(inspected)  # it changed: nothing is deleted
    current = store.get("mail-1")
    assert current is not None
    assert current.status is Status.COMPLETED_UNRECORDED
    assert store.backend.release_record(current)
    assert store.get("mail-1") is None


@pytest.mark.parametrize(
    "target",
    ["mysql://db.internal/idem", "redis:/10.0.0.5:6379/0", "postgres:db", "file:///tmp/x.db"],
)
def test_a_url_the_store_does_not_support_is_refused_not_opened_as_a_local_file(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IdempotencyStoreOpenError, match="redis://host:port/db") as err:
        IdempotencyStore.open(target)
    assert repr(target) in str(err.value)
    assert main(["idempotency", "list", target]) != 0  # the CLI refuses it too
    assert repr(target) in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no SQLite file named like the URL


def test_store_urls_are_read_case_insensitively_and_plain_paths_stay_files(
    redis_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    workflow = f"wf-{os.getpid()}-{time.monotonic_ns()}"
    upper = IdempotencyStore.open("REDIS" + redis_server[len("redis") :], workflow=workflow)
    lower = IdempotencyStore.open(redis_server, workflow=workflow)
    assert execute(upper, "k", {}, lambda: "ran once") == "ran once"
    assert execute(lower, "k", {}, lambda: "twice") == "ran once"  # the same Redis
    lower.backend.clear(workflow)
    upper.close()
    lower.close()
    sqlite_url = IdempotencyStore.open("SQLite:///rel.sqlite")
    named = IdempotencyStore.open(Path("notes:v2.sqlite"))  # a Path is always a file
    dotted = IdempotencyStore.open("./daily:report.sqlite")
    for store in (sqlite_url, named, dotted):
        assert execute(store, "k", {}, lambda: 1) == 1
        store.close()
    assert sorted(p.name for p in tmp_path.glob("*.sqlite")) == [
        "daily:report.sqlite",
        "notes:v2.sqlite",
        "rel.sqlite",
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["list", "{store}"],
        ["show", "{store}", "wf:k"],
        ["clear", "{store}", "--all"],
        ["release", "{store}", "wf:k"],
    ],
    ids=["list", "show", "clear", "release"],
)
@pytest.mark.parametrize("form", ["path", "url"])
def test_the_cli_at_a_missing_sqlite_store_says_so_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], form: str
) -> None:
    # seen: `idempotency clear idem.sqllite --all` (a typo) printed "cleared 0 key(s)", exit 0,
    # and created an empty store there; the real store kept the keys
    typo = tmp_path / "idem.sqllite"
    store = str(typo) if form == "path" else f"sqlite:///{typo}"
    assert main(["idempotency", *(a.replace("{store}", store) for a in command)]) == 2
    err = capsys.readouterr().err
    assert f"no idempotency store at {str(typo)!r}: the file does not exist" in err
    assert not typo.exists()
