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

from pytest_opsladder.store.errors import StoreError


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (blocking) for the block."""
    lock = FileLock(str(path.with_name(path.name + ".lock")))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except OSError as exc:
        raise StoreError(
            f"cannot lock {lock.lock_file}: {exc.strerror or exc}. Make the store directory "
            "writable or point it elsewhere (--store DIR / $OPSLADDER_STORE).",
            path=Path(lock.lock_file),
        ) from exc
    try:
        yield
    finally:
        lock.release()


def append_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Append ``records`` as JSON lines under the lock, each line written whole."""
    data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    with locked(path):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if _ends_mid_line(fd):
                data = "\n" + data
            _write_all(fd, data.encode("utf-8"))
        finally:
            os.close(fd)


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
