"""Appending lines that several processes write at once, without losing or mixing any (level 7).

Every append takes an exclusive lock (filelock: ``flock`` on POSIX, ``msvcrt`` on Windows) on a
sibling ``.lock`` file and writes the whole line with one ``write`` on an ``O_APPEND``
descriptor. If a writer died mid-line (power loss, SIGKILL before the newline), the next writer
first ends that fragment with a newline, so the damage stays one unreadable line instead of
corrupting the next record; readers skip it and say so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from pytest_opsladder.cassette.write_errors import WriteTarget, open_failed, write_fix
from pytest_opsladder.exceptions import CassetteWriteError
from pytest_opsladder.store.layout import store_target


@contextmanager
def locked(path: Path, target: WriteTarget | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (blocking) for the block."""
    lock = FileLock(str(path.with_name(path.name + ".lock")))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except OSError as exc:
        where = target or store_target(path.parent)
        raise open_failed(Path(lock.lock_file), exc, where) from None  # names the cause
    try:
        yield
    finally:
        lock.release()


def append_jsonl(
    path: Path, records: list[dict[str, Any]], target: WriteTarget | None = None
) -> None:
    """Append ``records`` as JSON lines under the lock, each line written whole."""
    where = target or store_target(path.parent)
    with locked(path, where):
        append_jsonl_holding_lock(path, records, where)


def append_jsonl_holding_lock(
    path: Path, records: list[dict[str, Any]], target: WriteTarget | None = None
) -> None:
    """:func:`append_jsonl` for a caller already inside ``locked(path)`` (a second lock of the
    same file from the same process would wait on itself)."""
    data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    where = target or store_target(path.parent)
    try:
        _append(path, data)
    except OSError as exc:
        raise _append_failed(path, exc, where) from None


def _append(path: Path, data: str) -> None:
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if _ends_mid_line(fd):
            data = "\n" + data
        _write_all(fd, data.encode("utf-8"))
    finally:
        os.close(fd)


def _append_failed(path: Path, exc: OSError, target: WriteTarget) -> CassetteWriteError:
    return target.error(
        f"cannot append to {target.noun} {path}{target.place}: {exc.strerror or exc} (errno "
        f"{exc.errno}); the lines already there are intact (a partial last line is ended by "
        f"the next writer and skipped by readers). Fix: {write_fix(path, exc, target)}",
        path=path,
    )


def _ends_mid_line(fd: int) -> bool:
    size = os.fstat(fd).st_size
    if size == 0:
        return False
    os.lseek(fd, size - 1, os.SEEK_SET)  # not os.pread: Windows has none; O_APPEND writes at end
    return os.read(fd, 1) != b"\n"


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]
