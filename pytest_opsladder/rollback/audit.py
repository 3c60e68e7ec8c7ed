"""The tamper-evident audit log (ladder level 5): append-only, hash-chained, checkpointed.

Entry 0 is a genesis entry naming the log; every later entry carries the hash of the one before,
so an edit, a reorder, an insert or a delete breaks the chain at its sequence number. What the
chain alone cannot show (the tail cut off, the whole log deleted, the chain recomputed after an
edit) an external checkpoint shows: each append can also record ``(seq, head hash)`` in a file
kept elsewhere. Appends take an exclusive ``flock`` on the log (and a thread lock in-process),
so writers in several processes always extend the same head: the chain never forks. Where
``fcntl`` does not exist (Windows) a sibling ``<log>.lock`` taken through filelock does the same.

An ``AuditLog`` used on both sides of a ``fork`` stays safe: a ``flock`` belongs to the open
file description, which a forked child shares with its parent, so a child never appends through
the descriptor it inherited; it opens (and locks) its own on its first append.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_opsladder._forksafe import drop_in_forked_child
from pytest_opsladder.capture.run import current_run, emit, utc_now
from pytest_opsladder.rollback import events as ev
from pytest_opsladder.rollback.audit_format import (
    GENESIS_PREV,
    MAX_DEPTH,
    canonical,
    decode,
    make_line,
    parse_line,
    payload_problem,
)
from pytest_opsladder.rollback.audit_verify import AuditReport, verify_log
from pytest_opsladder.rollback.errors import AuditError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["AuditLog", "AuditReport", "verify_log"]
_TAIL_CHUNK = 1 << 16


class AuditLog:
    """Append entries to the log at ``path``; optionally checkpoint every ``checkpoint_every``."""

    def __init__(
        self,
        path: str | Path,
        *,
        checkpoint: str | Path | None = None,
        checkpoint_every: int = 1,
        fsync: bool = False,
    ) -> None:
        self.path = Path(path)
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.checkpoint_every = max(1, checkpoint_every)
        self.fsync = fsync
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._fd_pid = 0  # the process that opened _fd: only it may lock and write through it
        self._known: tuple[int, int, str, str] | None = None  # (size, seq, hash, log_id)
        self._log_id = ""
        self._portable_lock: Any = None  # where fcntl is missing: the sibling lock file
        drop_in_forked_child(self)

    # -- appending ------------------------------------------------------------------------
    def append(self, payload: Any) -> int:
        """Append one entry (any JSON value); returns its sequence number."""
        problem = payload_problem(payload)
        if problem:
            raise AuditError(
                f"audit payload {_short(payload)} is not canonical JSON: {problem}. Pass dicts "
                "with str keys, lists, UTF-8 strings, integers within +-(2**53 - 1), finite "
                f"floats, booleans and None, nested at most {MAX_DEPTH} deep. Nothing was written."
            )
        with self._lock, self._locked() as fd:
            seq, head = self._head(fd)
            line, digest = make_line(seq + 1, head, utc_now(), payload)
            self._write(fd, line)
            self._after(fd, seq + 1, digest, len(line))
        emit(ev.AUDIT, str(self.path.name), {"seq": seq + 1})
        return seq + 1

    @contextmanager
    def _locked(self) -> Iterator[int]:
        try:
            fd = self._lock_current_file()
        except OSError as exc:
            self.close()
            raise AuditError(
                f"cannot open the audit log {str(self.path)!r} for appending: {exc}. It must be "
                "a writable regular file (or a path where one can be created)."
            ) from exc
        try:
            yield fd
        finally:
            self._unlock(fd)

    def _lock_current_file(self) -> int:
        """Lock the file now at ``path``: a log deleted or replaced under an open descriptor
        is reopened, never written into an unlinked inode where appends would vanish."""
        while True:
            if self._fd is not None and self._fd_pid != os.getpid():
                self._drop_inherited()  # a fork that bypassed the at-fork hook
            if self._fd is None:
                self._fd = _open_for_append(self.path)
                self._fd_pid = os.getpid()
            self._lock_fd(self._fd)
            try:
                same = os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return self._fd
            self._unlock(self._fd)
            self.close()
            self._known, self._log_id = None, ""

    def _lock_fd(self, fd: int) -> None:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return
        from filelock import FileLock

        self._portable_lock = FileLock(str(self.path) + ".lock")
        self._portable_lock.acquire()

    def _unlock(self, fd: int) -> None:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            self._portable_lock.release()

    def _write(self, fd: int, line: bytes) -> None:
        """Write one whole line or nothing: a failed write (disk full) is cut back off."""
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"short write, {written} of {len(line)} bytes")
            if self.fsync:
                os.fsync(fd)
        except OSError as exc:
            _cut_back(fd, size)
            self._known = None
            raise AuditError(
                f"cannot append to the audit log {str(self.path)!r}: {exc}. The entry was not "
                "written and the log is as it was; free disk space and append again."
            ) from exc

    def _after(self, fd: int, seq: int, digest: str, size_added: int) -> None:
        assert self._known is not None
        self._known = (self._known[0] + size_added, seq, digest, self._log_id)
        if self.checkpoint is not None and seq % self.checkpoint_every == 0:
            self._write_checkpoint(seq, digest)

    def _head(self, fd: int) -> tuple[int, str]:
        """(seq, hash) of the last entry, writing the genesis entry into an empty log."""
        size = os.fstat(fd).st_size
        if self._known is not None and self._known[0] == size:
            return self._known[1], self._known[2]
        if size == 0:
            return self._genesis(fd)
        return self._read_tail(fd, size)

    def _genesis(self, fd: int) -> tuple[int, str]:
        self._log_id = uuid.uuid4().hex
        payload = {"genesis": True, "log_id": self._log_id}
        line, digest = make_line(0, GENESIS_PREV, utc_now(), payload)
        self._known = (0, -1, GENESIS_PREV, self._log_id)
        self._write(fd, line)
        self._after(fd, 0, digest, len(line))
        return 0, digest

    def _read_tail(self, fd: int, size: int) -> tuple[int, str]:
        tail = _last_line(fd, size)
        if not tail.endswith(b"\n"):
            raise AuditError(
                f"audit log {self.path} ends in a torn line (a crash mid-append?); appending "
                "now would extend a broken chain. Run `opsladder audit verify` and, if only the "
                "torn line is wrong, AuditLog.repair_torn_tail()."
            )
        parsed = parse_line(tail[:-1])
        if parsed.problem:
            raise AuditError(
                f"audit log {self.path}: the last entry is invalid ({parsed.problem}); refusing "
                "to extend it. Run `opsladder audit verify` to find the first bad entry."
            )
        if not self._log_id:
            self._log_id = _log_id_of(self.path)
        self._known = (size, parsed.seq, parsed.hash, self._log_id)
        return parsed.seq, parsed.hash

    def _write_checkpoint(self, seq: int, digest: str) -> None:
        assert self.checkpoint is not None
        record = canonical({"head": digest, "log_id": self._log_id, "seq": seq, "ts": utc_now()})
        try:
            _append_record(self.checkpoint, record.encode() + b"\n", self.fsync)
        except OSError as exc:
            raise AuditError(
                f"entry {seq} was appended to {str(self.path)!r}, but the checkpoint "
                f"{str(self.checkpoint)!r} could not be written ({exc}): until a later append "
                "checkpoints again, `opsladder audit verify` reports it as not covered."
            ) from exc

    # -- maintenance ----------------------------------------------------------------------
    def verify(self, *, require_covered: bool = False) -> AuditReport:
        """Verify from genesis (against the checkpoint if this log has one)."""
        return verify_log(self.path, self.checkpoint, require_covered=require_covered)

    def repair_torn_tail(self) -> bool:
        """Cut a torn final line (no newline) off the log; returns whether one was cut."""
        with self._lock, self._locked() as fd:
            size = os.fstat(fd).st_size
            tail = _last_line(fd, size) if size else b"\n"
            if tail.endswith(b"\n"):
                return False
            os.truncate(self.path, size - len(tail))
            self._known = None
            return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _drop_inherited(self) -> None:
        """Let go of the parent's descriptor without unlocking it (closing this process's copy
        leaves the parent's flock held); the next append opens and locks its own."""
        fd, self._fd, self._known = self._fd, None, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _after_fork_in_child(self) -> None:
        """In a forked child: a fresh thread lock (another thread of the parent may have held
        this one at the fork, and it would never be released here) and no inherited handles."""
        self._lock = threading.Lock()
        self._portable_lock = None
        self._drop_inherited()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- file primitives: the only place that locks (swap for a cross-platform lock here) ------
def _open_for_append(path: Path) -> int:
    """Open (creating) the log; anything but a regular file is refused before writing.

    ``O_NONBLOCK`` keeps a FIFO planted at the path from blocking the open.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return fd


def _append_record(path: Path, record: bytes, fsync: bool) -> None:
    """Append one checkpoint record whole, or cut a partial one back off."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        size = os.fstat(fd).st_size
        try:
            if os.write(fd, record) != len(record):
                raise OSError(errno.ENOSPC, "short write")
            if fsync:
                os.fsync(fd)
        except OSError:
            _cut_back(fd, size)
            raise
    finally:
        os.close(fd)


def _cut_back(fd: int, size: int) -> None:
    # Best effort: a torn line left behind is reported by verify and blocks further appends.
    with contextlib.suppress(OSError):
        os.ftruncate(fd, size)


def _short(payload: Any) -> str:
    try:
        return f"{payload!r:.120}"
    except Exception:  # a repr that raises (or recurses) must not hide the real problem
        return f"<{type(payload).__name__}>"


def _last_line(fd: int, size: int) -> bytes:
    """The last line of the file, newline included if it has one."""
    chunk = _TAIL_CHUNK
    while True:
        start = max(0, size - chunk)
        data = _read_at(fd, size - start, start)
        cut = data.rfind(b"\n", 0, len(data) - 1)
        if cut >= 0 or start == 0:
            return data[cut + 1 :]
        chunk *= 4


def _read_at(fd: int, count: int, offset: int) -> bytes:
    """``os.pread`` where it exists; elsewhere (Windows) seek and read: the log's descriptor
    is O_APPEND, so moving its offset never moves where the next entry is written."""
    if hasattr(os, "pread"):
        return os.pread(fd, count, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows
    return os.read(fd, count)  # pragma: no cover


def _log_id_of(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            entry = decode(fh.readline())
    except OSError:
        return ""
    payload = entry.get("payload") if entry else None
    return str(payload.get("log_id", "")) if isinstance(payload, dict) else ""


def record(log: AuditLog, action: str, **details: Any) -> int:
    """Append ``{"action", "run_id", **details}``: the shape the other rungs use."""
    run = current_run()
    return log.append({"action": action, "run_id": run.run_id if run else None, **details})
