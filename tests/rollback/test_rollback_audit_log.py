"""Ladder level 5: the audit log verifies from genesis and reports the first bad seq."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.rollback.audit import AuditLog, verify_log
from pytest_opsladder.rollback.audit_format import make_line
from pytest_opsladder.rollback.errors import AuditError, AuditVerifyError


def write_log(tmp_path: Path, n: int = 6) -> tuple[Path, Path]:
    log_path, ck = tmp_path / "audit.jsonl", tmp_path / "audit.ck"
    with AuditLog(log_path, checkpoint=ck) as log:
        for i in range(1, n):
            log.append({"action": "refund", "order": i, "note": "ünïcode"})
    return log_path, ck


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_intact_log_verifies_and_lines_are_canonical_json(tmp_path: Path) -> None:
    log_path, ck = write_log(tmp_path)
    report = verify_log(log_path, ck)
    assert report.ok, report.message()
    assert report.entries == 6
    rows = [json.loads(line) for line in lines(log_path)]
    assert rows[0]["payload"]["genesis"] is True
    assert [r["seq"] for r in rows] == list(range(6))
    assert all(r["prev"] == p["hash"] for p, r in itertools.pairwise(rows))
    for raw, row in zip(lines(log_path), rows, strict=True):
        canon = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert raw == canon.encode() + b"\n"


def test_an_edited_field_is_reported_at_its_seq(tmp_path: Path) -> None:
    log_path, _ck = write_log(tmp_path)
    rows = lines(log_path)
    rows[3] = rows[3].replace(b'"order":3', b'"order":4')
    log_path.write_bytes(b"".join(rows))
    report = verify_log(log_path)
    assert (report.bad_seq, "edited" in report.problem) == (3, True)


def test_swapped_lines_are_reported_at_the_first(tmp_path: Path) -> None:
    log_path, _ = write_log(tmp_path)
    rows = lines(log_path)
    rows[2], rows[3] = rows[3], rows[2]
    log_path.write_bytes(b"".join(rows))
    assert verify_log(log_path).bad_seq == 2


def test_an_inserted_line_is_reported_where_it_was_inserted(tmp_path: Path) -> None:
    log_path, _ = write_log(tmp_path)
    rows = lines(log_path)
    forged, _ = make_line(4, "f" * 64, "2026-01-01T00:00:00Z", {"action": "forged"})
    log_path.write_bytes(b"".join([*rows[:4], forged, *rows[4:]]))
    report = verify_log(log_path)
    assert report.bad_seq == 4
    assert "prev" in report.problem


def test_a_duplicated_line_is_reported(tmp_path: Path) -> None:
    log_path, _ = write_log(tmp_path)
    rows = lines(log_path)
    log_path.write_bytes(b"".join([*rows[:3], rows[1], *rows[3:]]))
    assert verify_log(log_path).bad_seq == 3


def test_a_deleted_middle_line_is_reported_at_its_seq(tmp_path: Path) -> None:
    log_path, _ = write_log(tmp_path)
    rows = lines(log_path)
    del rows[2]
    log_path.write_bytes(b"".join(rows))
    assert verify_log(log_path).bad_seq == 2


def test_a_deleted_genesis_is_reported_at_zero(tmp_path: Path) -> None:
    log_path, _ = write_log(tmp_path)
    log_path.write_bytes(b"".join(lines(log_path)[1:]))
    assert verify_log(log_path).bad_seq == 0


def test_a_deleted_last_line_passes_the_chain_but_not_the_checkpoint(tmp_path: Path) -> None:
    log_path, ck = write_log(tmp_path)
    log_path.write_bytes(b"".join(lines(log_path)[:-1]))
    assert verify_log(log_path).ok  # the chain alone cannot see a cut tail
    report = verify_log(log_path, ck)
    assert report.bad_seq == 5
    assert "truncated" in report.problem


def test_a_recomputed_chain_is_caught_by_the_checkpoint_at_the_edit(tmp_path: Path) -> None:
    log_path, ck = write_log(tmp_path)
    rows = [json.loads(line) for line in lines(log_path)]
    rows[2]["payload"]["order"] = 999
    out, prev = [], rows[1]["hash"]
    out_bytes = b"".join(lines(log_path)[:2])
    for row in rows[2:]:
        line, prev = make_line(row["seq"], prev, row["ts"], row["payload"])
        out.append(line)
    log_path.write_bytes(out_bytes + b"".join(out))
    assert verify_log(log_path).ok  # internally consistent: only the checkpoint can tell
    report = verify_log(log_path, ck)
    assert report.bad_seq == 2
    assert "recomputed" in report.problem


def test_a_deleted_log_is_detected_against_the_checkpoint(tmp_path: Path) -> None:
    log_path, ck = write_log(tmp_path)
    log_path.unlink()
    report = verify_log(log_path, ck)
    assert report.bad_seq == 0
    assert "does not exist" in report.problem
    assert "expects 6 entries" in report.problem


def test_a_replaced_log_is_detected_against_the_checkpoint(tmp_path: Path) -> None:
    log_path, ck = write_log(tmp_path)
    log_path.unlink()
    with AuditLog(log_path) as fresh:
        for i in range(8):
            fresh.append({"i": i})
    assert verify_log(log_path, ck).bad_seq == 0


def test_a_torn_final_line_is_reported_and_blocks_appends_until_repaired(tmp_path: Path) -> None:
    log_path, _ = write_log(tmp_path)
    data = log_path.read_bytes()
    log_path.write_bytes(data[:-40])
    report = verify_log(log_path)
    assert report.bad_seq == 5
    assert "torn" in report.problem
    with AuditLog(log_path) as log:
        with pytest.raises(AuditError, match="torn line"):
            log.append({"after": "crash"})
        assert log.repair_torn_tail() is True
        assert log.append({"after": "repair"}) == 5
    assert verify_log(log_path).ok


def test_verify_raises_with_the_seq_on_the_error(tmp_path: Path) -> None:
    log_path, _ = write_log(tmp_path)
    rows = lines(log_path)
    rows[1] = rows[1].replace(b"refund", b"refunf")
    log_path.write_bytes(b"".join(rows))
    with pytest.raises(AuditVerifyError) as info:
        verify_log(log_path).raise_for_problem()
    assert info.value.seq == 1


def test_a_non_json_payload_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "a.jsonl") as log:
        log.append({"ok": 1})
        with pytest.raises(AuditError, match="not canonical JSON"):
            log.append({"bad": float("nan")})
    assert verify_log(tmp_path / "a.jsonl").entries == 2


def test_two_writers_in_one_process_share_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with AuditLog(path) as first, AuditLog(path) as second:
        seqs = [first.append({"w": 1}), second.append({"w": 2}), first.append({"w": 1})]
    assert seqs == [1, 2, 3]
    assert verify_log(path).ok


def test_threads_appending_never_fork_the_chain(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "a.jsonl"
    with AuditLog(path) as log, ThreadPoolExecutor(8) as pool:
        seqs = list(pool.map(lambda i: log.append({"i": i}), range(400)))
    assert sorted(seqs) == list(range(1, 401))
    assert verify_log(path).entries == 401


_WRITER = """
import sys
from pytest_opsladder.rollback.audit import AuditLog
log = AuditLog(sys.argv[1], checkpoint=sys.argv[2])
for i in range(int(sys.argv[3])):
    log.append({"pid": sys.argv[4], "i": i})
log.close()
"""


def test_processes_appending_never_fork_the_chain(tmp_path: Path) -> None:
    path, ck = tmp_path / "a.jsonl", tmp_path / "a.ck"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(ck), "150", str(n)])
        for n in range(4)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    report = verify_log(path, ck)
    assert report.ok, report.message()
    assert report.entries == 601
    payloads = [json.loads(line)["payload"] for line in lines(path)[1:]]
    assert sorted((p["pid"], p["i"]) for p in payloads) == sorted(
        (str(n), i) for n in range(4) for i in range(150)
    )


def _append_in_child(log: AuditLog, start: Any, worker: int, n: int) -> None:
    start.wait()  # every child appends at once
    for i in range(n):
        log.append({"pid": str(worker), "i": i})


def test_forked_children_of_a_writer_never_fork_the_chain(tmp_path: Path) -> None:
    import multiprocessing

    path, ck = tmp_path / "a.jsonl", tmp_path / "a.ck"
    log = AuditLog(path, checkpoint=ck)
    log.append({"pid": "parent", "i": 0})  # the parent's descriptor is open and was locked
    fork = multiprocessing.get_context("fork")
    start = fork.Barrier(4)
    children = [fork.Process(target=_append_in_child, args=(log, start, n, 300)) for n in range(4)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    log.append({"pid": "parent", "i": 1})  # and the parent still appends to the same chain
    log.close()
    assert [c.exitcode for c in children] == [0, 0, 0, 0]
    report = verify_log(path, ck)
    assert report.ok, report.message()
    assert report.entries == 1203
    payloads = [json.loads(line)["payload"] for line in lines(path)[1:]]
    assert sorted((p["pid"], p["i"]) for p in payloads) == sorted(
        [(str(n), i) for n in range(4) for i in range(300)] + [("parent", 0), ("parent", 1)]
    )


def _append_one(log: AuditLog) -> None:
    log.append({"pid": "child"})


# Another writer: locks the log as AuditLog does, says so, and holds the lock until told.
_LOCK_HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()
"""


def test_a_child_forked_while_a_thread_waits_to_append_can_append(tmp_path: Path) -> None:
    import multiprocessing
    import threading
    import time

    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    log.append({"pid": "parent"})
    with subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as other:
        assert other.stdin is not None
        assert other.stdout is not None
        assert other.stdout.readline() == "locked\n"
        waiting = threading.Thread(target=log.append, args=({"pid": "thread"},))
        waiting.start()
        while not log._lock.locked():  # the thread is in append, holding the in-process lock
            time.sleep(0.001)
        child = multiprocessing.get_context("fork").Process(target=_append_one, args=(log,))
        child.start()
        other.stdin.write("done\n")  # not EOF: the forked child holds a copy of this pipe
        other.stdin.flush()
        assert other.wait(timeout=60) == 0  # the other writer is done, its lock released
    waiting.join()
    child.join(timeout=60)  # a child stuck on the inherited lock never gets here by itself
    if child.exitcode is None:
        child.kill()
    log.close()
    assert child.exitcode == 0
    report = verify_log(path)
    assert (report.ok, report.entries) == (True, 4), report.message()


def test_cli_verify_exit_codes_name_the_first_bad_seq(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_path, ck = write_log(tmp_path)
    assert main(["audit", "verify", str(log_path), "--checkpoint", str(ck)]) == 0
    assert "intact, 6 entries" in capsys.readouterr().out
    log_path.write_bytes(b"".join(lines(log_path)[:-1]))
    assert main(["audit", "verify", str(log_path), "--checkpoint", str(ck)]) == 1
    assert "first bad sequence number 5" in capsys.readouterr().err


def test_cli_verify_runs_as_a_console_command(tmp_path: Path) -> None:
    log_path, _ = write_log(tmp_path)
    rows = lines(log_path)
    rows[4] = rows[4].replace(b"refund", b"REFUND")
    log_path.write_bytes(b"".join(rows))
    done = subprocess.run(
        [sys.executable, "-m", "pytest_opsladder.cli", "audit", "verify", str(log_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "first bad sequence number 4" in done.stderr


def test_a_bad_checkpoint_file_names_the_line(tmp_path: Path) -> None:
    log_path, ck = write_log(tmp_path)
    ck.write_text("not json\n")
    with pytest.raises(AuditError, match=r"audit.ck, line 1"):
        verify_log(log_path, ck)


def test_a_log_deleted_under_an_open_writer_is_detected_not_lost(tmp_path: Path) -> None:
    path, ck = tmp_path / "a.jsonl", tmp_path / "a.ck"
    with AuditLog(path, checkpoint=ck) as log:
        log.append({"i": 1})
        path.unlink()
        log.append({"i": 2})  # goes to a new log at the path, not into the deleted inode
    assert verify_log(path).entries == 2
    report = verify_log(path, ck)
    assert report.bad_seq == 0
    assert "replaced" in report.problem
