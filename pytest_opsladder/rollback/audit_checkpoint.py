"""The audit log's external checkpoint, read strictly (ladder level 5).

A checkpoint is the trust anchor of verification, so a checkpoint that cannot be read as one
(missing, a directory or FIFO, binary, a torn or garbled record, a seq that is not a small
non-negative integer) stops verification with :class:`AuditUnreadableError` naming the file
and the line: it is never half-used. Records are checked once up front with a regular
expression matching exactly what :class:`AuditLog` writes; anything else gets a strict JSON
check, so a hand-written checkpoint with spaces still reads.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pytest_opsladder.rollback.errors import AuditUnreadableError

_RECORD = re.compile(
    rb'\{"head":"([0-9a-f]{64})","log_id":"([0-9a-f]{0,64})",'
    rb'"seq":(0|[1-9][0-9]{0,17}),"ts":"[^"\\\x00-\x1f]{0,64}"\}'
)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_SEQ = 10**18


def open_regular(path: Path, what: str) -> BinaryIO:
    """Open ``path`` for reading, refusing anything but a regular file without blocking.

    ``O_NONBLOCK`` keeps a FIFO planted at the path from hanging the open; the file type is
    checked on the opened descriptor, so a swap after a check cannot slip through.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise AuditUnreadableError(
            f"cannot read the {what} {str(path)!r}: {exc.strerror or exc}. Pass the path of "
            f"the {what} file.",
            path=path,
        ) from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise AuditUnreadableError(
            f"the {what} {str(path)!r} is a {_kind(mode)}, not a regular file; pass the path "
            f"of the {what} file.",
            path=path,
        )
    return os.fdopen(fd, "rb")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO (named pipe)")):
        if test(mode):
            return name
    return "socket" if stat.S_ISSOCK(mode) else "device or special file"


@dataclass(frozen=True, slots=True)
class Mark:
    """One checkpoint record: the log had ``seq + 1`` entries, the last with hash ``head``."""

    seq: int
    head: str
    log_id: str


class Checkpoints:
    """The checkpoint file's records: validated when loaded, parsed when looked at."""

    def __init__(self, path: Path, lines: list[bytes]) -> None:
        self.path = path
        self.lines = lines
        self.validate()  # every record, first bad line first, before any is trusted
        self.last = self[-1]

    @classmethod
    def load(cls, path: Path) -> Checkpoints:
        with open_regular(path, "audit checkpoint") as fh:
            try:
                data = fh.read()
            except OSError as exc:
                raise AuditUnreadableError(
                    f"cannot read the audit checkpoint {str(path)!r}: {exc}.", path=path
                ) from exc
        lines = data.split(b"\n")
        torn = lines.pop()
        if torn:
            raise _bad(path, len(lines) + 1, torn, "a torn last record (no newline)")
        if not lines:
            raise AuditUnreadableError(
                f"the audit checkpoint {str(path)!r} is empty: it holds no record. Without "
                "one a cut tail or a recomputed chain cannot be detected; pass the right file.",
                path=path,
            )
        return cls(path, lines)

    def validate(self) -> None:
        match = _RECORD.fullmatch
        for index, line in enumerate(self.lines):
            if match(line) is None:
                self._slow(index)

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: int) -> Mark:
        index = index % len(self.lines)
        found = _RECORD.fullmatch(self.lines[index])
        if found is None:
            return self._slow(index)
        return Mark(int(found.group(3)), found.group(1).decode(), found.group(2).decode())

    def _slow(self, index: int) -> Mark:
        line = self.lines[index]
        try:
            record: Any = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise _bad(self.path, index + 1, line, f"not JSON: {exc}") from None
        problem = _record_problem(record)
        if problem:
            raise _bad(self.path, index + 1, line, problem)
        return Mark(record["seq"], record["head"], str(record.get("log_id", "")))


def _record_problem(record: Any) -> str:
    if not isinstance(record, dict):
        return "not a JSON object"
    seq, head = record.get("seq"), record.get("head")
    if type(seq) is not int or not 0 <= seq < _MAX_SEQ:
        return f"seq {str(seq)[:30]!r} is not an integer from 0 to 10**18"
    if not isinstance(head, str) or _HEX64.fullmatch(head) is None:
        return f"head {str(head)[:30]!r} is not a sha256 hex digest"
    if not isinstance(record.get("log_id", ""), str):
        return "log_id is not a string"
    return ""


def _bad(path: Path, line_no: int, line: bytes, why: str) -> AuditUnreadableError:
    shown = line[:80].decode("utf-8", "backslashreplace")  # binary shows as \xNN escapes
    return AuditUnreadableError(
        f"audit checkpoint {path}, line {line_no}: {shown!r} is not a checkpoint "
        f"record ({why}); expected {{'seq': N, 'head': HASH, 'log_id': ID}} as written by "
        "AuditLog. Pass the right --checkpoint FILE (or remove a torn last line).",
        path=path,
    )
