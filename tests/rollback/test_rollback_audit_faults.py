"""Ladder level 5: `opsladder audit verify` tells the whole truth about damaged inputs.

A generated corpus of tamper and garble classes: each is run through the real command and
must give its documented exit code (0 intact, 1 tampered, 2 unreadable or usage error), name
the first bad seq where there is one, and never print a traceback.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.rollback.audit import AuditLog
from pytest_opsladder.rollback.audit_format import GENESIS_PREV, make_line

ENTRIES = 6  # genesis + 5


@dataclass
class Case:
    log: Path
    ck: Path
    argv: list[str]

    def rows(self) -> list[bytes]:
        return self.log.read_bytes().splitlines(keepends=True)

    def put(self, rows: list[bytes]) -> None:
        self.log.write_bytes(b"".join(rows))

    def with_rows(self, edit: Callable[[list[bytes]], list[bytes] | None]) -> None:
        rows = self.rows()
        self.put(edit(rows) or rows)


def crafted(body: bytes) -> bytes:
    """A line whose own hash is right for whatever ``body`` (a ``{...}`` text) holds."""
    digest = hashlib.sha256(body).hexdigest().encode()
    return b'{"hash":"' + digest + b'",' + body[1:] + b"\n"


def entry_body(payload: bytes, seq: bytes = b"0", prev: str = GENESIS_PREV) -> bytes:
    return (
        b'{"payload":'
        + payload
        + b',"prev":"'
        + prev.encode()
        + b'","seq":'
        + seq
        + (b',"ts":"2026-01-01T00:00:00.000Z"}')
    )


def head_of(row: bytes) -> str:
    return row[9:73].decode()


def set_row(i: int, new: bytes) -> Callable[[list[bytes]], None]:
    return lambda rows: rows.__setitem__(i, new)


def swap(rows: list[bytes]) -> None:
    rows[2], rows[3] = rows[3], rows[2]


def append_valid_entry(case: Case) -> None:
    rows = case.rows()
    line, _ = make_line(ENTRIES, head_of(rows[-1]), "2026-01-01T00:00:00.000Z", {"forged": 1})
    case.put([*rows, line])


def recompute_chain_after_edit(case: Case) -> None:
    rows, prev, out = case.rows(), GENESIS_PREV, []
    import json

    for seq, row in enumerate(rows):
        entry = json.loads(row)
        if seq == 3:
            entry["payload"]["order"] = 999
        line, prev = make_line(seq, prev, entry["ts"], entry["payload"])
        out.append(line)
    case.put(out)


def replace_with_other_log(case: Case) -> None:
    other = case.log.with_name("other.jsonl")
    with AuditLog(other) as log:
        for i in range(ENTRIES - 1):
            log.append({"i": i})
    os.replace(other, case.log)


def deep_genesis(case: Case) -> None:
    payload = b"[" * 100_000 + b"]" * 100_000
    case.with_rows(set_row(0, crafted(entry_body(payload))))


def fifo_log(case: Case) -> None:
    case.log.unlink()
    os.mkfifo(case.log)


def dir_log(case: Case) -> None:
    case.log.unlink()
    case.log.mkdir()


def loop_log(case: Case) -> None:
    case.log.unlink()
    case.log.symlink_to(case.log.with_name("loop"))
    case.log.with_name("loop").symlink_to(case.log)


def ck_text(text: bytes) -> Callable[[Case], None]:
    return lambda case: case.ck.write_bytes(text)


def ck_last(edit: Callable[[bytes], bytes]) -> Callable[[Case], None]:
    def go(case: Case) -> None:
        rows = case.ck.read_bytes().splitlines(keepends=True)
        case.ck.write_bytes(b"".join([*rows[:-1], edit(rows[-1])]))

    return go


def ck_dir(case: Case) -> None:
    case.ck.unlink()
    case.ck.mkdir()


def rows_edit(edit: Callable[[list[bytes]], list[bytes] | None]) -> Callable[[Case], None]:
    return lambda case: case.with_rows(edit)


def sub(i: int, old: bytes, new: bytes) -> Callable[[Case], None]:
    """Replace ``old`` by ``new`` in line ``i``."""
    return rows_edit(lambda r: r.__setitem__(i, r[i].replace(old, new)))


def splice(i: int, at: int, end: int, new: bytes) -> Callable[[Case], None]:
    return rows_edit(lambda r: r.__setitem__(i, r[i][:at] + new + r[i][end:]))


def forge_genesis(payload: bytes, seq: bytes = b"0") -> Callable[[Case], None]:
    return rows_edit(lambda r: r.__setitem__(0, crafted(entry_body(payload, seq))))


def upper_hash(case: Case) -> None:
    case.with_rows(lambda r: r.__setitem__(1, r[1][:9] + r[1][9:73].upper() + r[1][73:]))


def ck_seq(new: bytes) -> Callable[[Case], None]:
    return ck_last(lambda r: r.replace(b'"seq":5', b'"seq":' + new))


def argv_log(path: str) -> Callable[[Case], None]:
    return lambda c: setattr(c, "argv", [path, *c.argv[1:]])


def log_bytes(data: bytes) -> Callable[[Case], None]:
    return lambda case: case.log.write_bytes(data)


def no_checkpoint(case: Case) -> None:
    case.argv = [case.argv[0], "--require-covered"]


TAMPERED, UNREADABLE, INTACT = 1, 2, 0
UTF8_U = "ü".encode()
# (class, mutation, expected exit, text the output must hold)
CORPUS: list[tuple[str, Callable[[Case], None], int, str]] = [
    ("edited payload", sub(2, b"refund", b"refunf"), TAMPERED, "number 2"),
    ("edited ts", sub(3, b'"ts":"2', b'"ts":"1'), TAMPERED, "number 3"),
    ("edited seq", sub(3, b'"seq":3', b'"seq":7'), TAMPERED, "number 3"),
    ("edited prev", sub(4, b'"prev":"', b'"prev":"0'), TAMPERED, "number 4"),
    ("edited hash", splice(1, 9, 73, b"f" * 64), TAMPERED, "number 1"),
    ("upper-case hash", upper_hash, TAMPERED, "number 1"),
    ("swapped lines", rows_edit(swap), TAMPERED, "number 2"),
    ("reversed log", rows_edit(lambda r: r[::-1]), TAMPERED, "number 0"),
    ("deleted middle line", rows_edit(lambda r: r[:2] + r[3:]), TAMPERED, "number 2"),
    ("deleted genesis", rows_edit(lambda r: r[1:]), TAMPERED, "number 0"),
    ("duplicated line", rows_edit(lambda r: r[:3] + r[2:]), TAMPERED, "number 3"),
    ("blank line inserted", rows_edit(lambda r: [*r[:2], b"\n", *r[2:]]), TAMPERED, "number 2"),
    ("garbage line appended", rows_edit(lambda r: [*r, b"hello\n"]), TAMPERED, "number 6"),
    ("torn final line", rows_edit(lambda r: [*r[:-1], r[-1][:40]]), TAMPERED, "number 5"),
    ("tail cut at a line boundary", rows_edit(lambda r: r[:-2]), TAMPERED, "number 4"),
    ("whole log emptied", log_bytes(b""), TAMPERED, "number 0"),
    ("log deleted", lambda c: c.log.unlink(), TAMPERED, "does not exist"),
    ("log replaced by another log", replace_with_other_log, TAMPERED, "replaced"),
    ("chain recomputed after an edit", recompute_chain_after_edit, TAMPERED, "number 3"),
    ("CRLF line endings", rows_edit(lambda r: [x[:-1] + b"\r\n" for x in r]), TAMPERED, "number 0"),
    ("UTF-8 BOM prepended", splice(0, 0, 0, b"\xef\xbb\xbf"), TAMPERED, "number 0"),
    ("NUL bytes injected", splice(2, 100, 102, b"\0\0"), TAMPERED, "number 2"),
    ("invalid UTF-8 in a payload", sub(2, UTF8_U, b"\xff\xfe"), TAMPERED, "number 2"),
    ("pretty-printed line", sub(1, b'","', b'", "'), TAMPERED, "number 1"),
    ("binary garbage log", log_bytes(bytes(range(256)) * 40), TAMPERED, "number 0"),
    ("one huge line, no newline", log_bytes(b"x" * 3_000_000), TAMPERED, "number 0"),
    ("5,000-digit seq", sub(2, b'"seq":2', b'"seq":' + b"9" * 5000), TAMPERED, "number 2"),
    ("leading-zero seq, rehashed", forge_genesis(b'{"genesis":true}', b"00"), TAMPERED, "number 0"),
    ("negative seq", sub(2, b'"seq":2', b'"seq":-2'), TAMPERED, "number 2"),
    ("crafted non-JSON genesis", forge_genesis(b"not-json"), TAMPERED, "number 0"),
    ("crafted genesis, ordinary payload", forge_genesis(b'{"a":1}'), TAMPERED, "number 0"),
    ("crafted genesis nested 100,000 deep", deep_genesis, TAMPERED, "number 0"),
    ("entry after the last checkpoint", append_valid_entry, TAMPERED, "1 entries not covered"),
    ("log path is a directory", dir_log, UNREADABLE, "is a directory"),
    ("log path is a FIFO", fifo_log, UNREADABLE, "FIFO"),
    ("log path is a symlink loop", loop_log, UNREADABLE, "cannot read the audit log"),
    ("log path is a character device", argv_log("/dev/null"), UNREADABLE, "device"),
    ("binary checkpoint", ck_text(bytes(range(256)) * 8 + b"\n"), UNREADABLE, "line 1"),
    ("checkpoint with a 5,000-digit seq", ck_seq(b"5" * 5000), UNREADABLE, "line 6"),
    ("checkpoint with a negative seq", ck_seq(b"-1"), UNREADABLE, "line 6"),
    ("checkpoint with a string seq", ck_seq(b'"5"'), UNREADABLE, "line 6"),
    ("checkpoint with a bad head", ck_last(lambda r: r[:9] + b"z" + r[10:]), UNREADABLE, "line 6"),
    ("torn checkpoint record", ck_last(lambda r: r[:30]), UNREADABLE, "torn"),
    ("binary checkpoint, no newline", ck_text(bytes(range(256))[11:] * 3), UNREADABLE, "line 1"),
    ("empty checkpoint", ck_text(b""), UNREADABLE, "empty"),
    ("checkpoint deleted", lambda c: c.ck.unlink(), UNREADABLE, "No such file"),
    ("checkpoint is a directory", ck_dir, UNREADABLE, "is a directory"),
    ("--require-covered without a checkpoint", no_checkpoint, UNREADABLE, "needs --checkpoint"),
]  # fmt: skip


@pytest.fixture
def case(tmp_path: Path) -> Case:
    log_path, ck = tmp_path / "audit.jsonl", tmp_path / "audit.ck"
    with AuditLog(log_path, checkpoint=ck) as log:
        for i in range(1, ENTRIES):
            log.append({"action": "refund", "order": i, "note": "ünïcode"})
    return Case(log_path, ck, [str(log_path), "--checkpoint", str(ck), "--require-covered"])


def verify(case: Case, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["audit", "verify", *case.argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_corpus_has_at_least_30_classes() -> None:
    assert len(CORPUS) >= 30
    assert len({name for name, *_ in CORPUS}) == len(CORPUS)


def test_an_intact_log_exits_0(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify(case, capsys)[0] == INTACT


@pytest.mark.parametrize(("name", "mutate", "expected", "text"), CORPUS, ids=[c[0] for c in CORPUS])
def test_every_class_gets_its_exit_code_and_no_traceback(
    case: Case,
    capsys: pytest.CaptureFixture[str],
    name: str,
    mutate: Callable[[Case], None],
    expected: int,
    text: str,
) -> None:
    mutate(case)
    code, output = verify(case, capsys)  # an exception here is a traceback for the user
    assert code == expected, output
    assert text in output
    assert "Traceback" not in output


def test_uncovered_entries_are_reported_and_pass_without_require_covered(
    case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    append_valid_entry(case)
    case.argv.remove("--require-covered")
    code, output = verify(case, capsys)
    assert code == INTACT
    assert "intact, 7 entries" in output
    assert "1 entries not covered by a checkpoint" in output


def test_without_a_checkpoint_every_entry_is_named_uncovered(
    case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = verify(Case(case.log, case.ck, [str(case.log)]), capsys)
    assert code == INTACT
    assert f"{ENTRIES} entries not covered by a checkpoint" in output


def test_thinned_checkpoints_leave_the_last_entries_uncovered(tmp_path: Path) -> None:
    from pytest_opsladder.rollback.audit import verify_log

    log_path, ck = tmp_path / "a.jsonl", tmp_path / "a.ck"
    with AuditLog(log_path, checkpoint=ck, checkpoint_every=4) as log:
        for i in range(6):
            log.append({"i": i})
    report = verify_log(log_path, ck)
    assert report.ok
    assert report.uncovered == 2  # seq 5 and 6 come after the record for seq 4
    strict = verify_log(log_path, ck, require_covered=True)
    assert (strict.bad_seq, strict.ok) == (5, False)


@pytest.mark.parametrize(
    "name", ["log path is a FIFO", "crafted non-JSON genesis", "binary checkpoint"]
)
def test_the_console_command_prints_no_traceback(case: Case, name: str) -> None:
    mutate, expected = next((m, e) for n, m, e, _ in CORPUS if n == name)
    mutate(case)
    done = subprocess.run(
        [sys.executable, "-m", "pytest_opsladder.cli", "audit", "verify", *case.argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == expected
    assert "Traceback" not in done.stderr


class Weird:
    pass


def _cycle() -> dict[str, object]:
    loop: dict[str, object] = {}
    loop["self"] = loop
    return loop


def _deep(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


NOT_CANONICAL = [
    ("lone surrogate", {"note": "a\ud800b"}, "lone surrogate"),
    ("lone surrogate in a key", {"\udfff": 1}, "lone surrogate"),
    ("huge integer", {"n": 10**5000}, "2**53"),
    ("integer past 2**53", {"n": 2**53}, "2**53"),
    ("deep nesting", _deep(100_000), "nests deeper"),
    ("cycle", _cycle(), "refers to itself"),
    ("NaN", {"x": float("nan")}, "not finite"),
    ("infinity", [float("-inf")], "not finite"),
    ("non-str key", {1: "a", "1": "b"}, "not a string"),
    ("bytes", {"b": b"raw"}, "bytes"),
    ("set", {"s": {1, 2}}, "set"),
    ("object", Weird(), "Weird"),
]


@pytest.mark.parametrize(
    ("name", "payload", "why"), NOT_CANONICAL, ids=[n for n, *_ in NOT_CANONICAL]
)
def test_append_refuses_non_canonical_payloads_with_audit_error(
    tmp_path: Path, name: str, payload: object, why: str
) -> None:
    from pytest_opsladder.rollback.audit import verify_log
    from pytest_opsladder.rollback.errors import AuditError

    path = tmp_path / "a.jsonl"
    with AuditLog(path) as log:
        log.append({"ok": 1})
        with pytest.raises(AuditError, match="not canonical JSON") as info:
            log.append(payload)
        assert why in str(info.value)
        assert log.append({"ok": 2}) == 2  # the log is still usable
    assert verify_log(path).entries == 3


def test_append_accepts_the_json_edge_values(tmp_path: Path) -> None:
    from enum import StrEnum

    class Kind(StrEnum):
        REFUND = "refund"

    path = tmp_path / "a.jsonl"
    payload = {"k": Kind.REFUND, "max": 2**53 - 1, "neg": -(2**53 - 1), "t": (1, "x"), "z": "\0"}
    with AuditLog(path) as log:
        log.append(payload)
        log.append(_deep(60))
    import json

    stored = json.loads(path.read_bytes().splitlines()[1])["payload"]
    assert stored == {
        "k": "refund",
        "max": 2**53 - 1,
        "neg": -(2**53 - 1),
        "t": [1, "x"],
        "z": "\0",
    }


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_append_to_a_path_that_is_not_a_file_is_an_audit_error(tmp_path: Path, kind: str) -> None:
    from pytest_opsladder.rollback.errors import AuditError

    path = tmp_path / "a.jsonl"
    path.mkdir() if kind == "directory" else os.mkfifo(path)
    with AuditLog(path) as log, pytest.raises(AuditError, match=r"regular file|Is a directory"):
        log.append({"i": 1})


_FULL_DISK = """
import resource, signal, sys
from pytest_opsladder.rollback.audit import AuditLog
from pytest_opsladder.rollback.errors import AuditError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG
log = AuditLog(sys.argv[1], checkpoint=sys.argv[2])
log.append({"i": 0})
if sys.argv[3] == "checkpoint":  # repeat the first record: the checkpoint outgrows the log
    with open(sys.argv[2], "rb+") as ck:
        first = ck.readline()
        ck.seek(0)
        ck.write(first * 12 + ck.read())
limit, pad = (500, 400) if sys.argv[3] == "log" else (1300, 0)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
try:
    log.append({"i": 1, "pad": "x" * pad})
except AuditError as exc:
    print("refused:", exc)
"""


@pytest.mark.parametrize("full", ["log", "checkpoint"])
def test_a_full_disk_leaves_the_log_whole(tmp_path: Path, full: str) -> None:
    from pytest_opsladder.rollback.audit import verify_log

    log_path, ck = tmp_path / "a.jsonl", tmp_path / "a.ck"
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(log_path), str(ck), full],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "refused:" in done.stdout, done.stderr
    report = verify_log(log_path, ck)
    assert report.ok, report.message()
    if full == "log":
        assert "entry was not written" in done.stdout
        assert (report.entries, report.uncovered) == (2, 0)
    else:
        assert "could not be written" in done.stdout
        assert (report.entries, report.uncovered) == (3, 1)


def mutations(rng: random.Random, data: bytes) -> bytes:
    """One random garble: flip a byte, cut, insert, delete or duplicate a span."""
    at, span = rng.randrange(len(data)), rng.randrange(1, 40)
    how = rng.choice(["flip", "cut", "insert", "delete", "duplicate"])
    if how == "flip":
        return data[:at] + bytes([data[at] ^ rng.randrange(1, 256)]) + data[at + 1 :]
    if how == "cut":
        return data[:at]
    if how == "insert":
        return data[:at] + rng.randbytes(span) + data[at:]
    if how == "delete":
        return data[:at] + data[at + span :]
    return data[:at] + data[at : at + span] + data[at:]


@pytest.mark.parametrize("target", ["log", "checkpoint"])
def test_seeded_random_garbles_never_pass_and_never_crash(
    case: Case, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    rng = random.Random(15)
    path = case.log if target == "log" else case.ck
    good = path.read_bytes()
    codes = []
    for _ in range(150):
        garbled = mutations(rng, good)
        path.write_bytes(garbled)
        code, output = verify(case, capsys)  # an exception here would be a traceback
        assert "Traceback" not in output
        if target == "log" and garbled != good:
            assert code == TAMPERED, (garbled, output)  # 0 misses: every change is caught
        codes.append(code)
    assert set(codes) <= {INTACT, TAMPERED, UNREADABLE}
