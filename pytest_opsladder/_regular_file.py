"""Reading a file a user (or anyone with write access to a folder) put there: regular files only.

A case file or a cassette is opened with ``O_NONBLOCK``, so a FIFO planted under its name
returns at once instead of blocking the read forever, and its type is checked on the opened
descriptor (a swap after a check cannot slip through). A dangling or looping symbolic link, a
directory, a device and a file past the caller's size cap each raise :class:`FileProblem`,
which says what the path is; the caller turns it into its own named error with the fix.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

# O_BINARY: no newline translation on Windows; O_NOCTTY: a terminal never becomes ours.
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_FLAGS |= getattr(os, "O_BINARY", 0) | getattr(os, "O_NOCTTY", 0)
_CHUNK = 1 << 20


class Problem(StrEnum):
    MISSING = "missing"
    DANGLING = "dangling"  # a symbolic link to nothing
    LOOP = "loop"  # symbolic links that lead back to themselves
    SPECIAL = "special"  # a FIFO, a socket, a device, a directory
    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"  # permissions, I/O errors


class FileProblem(Exception):
    """``path`` cannot be read as a regular file; ``detail`` says what it is instead."""

    def __init__(self, path: Path, problem: Problem, detail: str, *, size: int = 0) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.problem = problem
        self.detail = detail
        self.size = size


def read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path`` (at most ``max_bytes``), never blocking."""

    def read(fd: int, size: int) -> bytes:
        if size > max_bytes:
            raise _too_large(path, size, max_bytes)
        return _read_all(fd, path, size, max_bytes)

    return _with_regular(path, read)


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of the regular file at ``path``, never blocking."""
    return _with_regular(path, lambda fd, _: os.read(fd, size))


def _with_regular(path: Path, read: Callable[[int, int], bytes]) -> bytes:
    """``read(fd, its size)`` on ``path`` opened without blocking, once the opened descriptor
    is known to be a regular file; every failure is a :class:`FileProblem`."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        raise _open_problem(path, exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem(path, Problem.SPECIAL, f"is {kind_of(info.st_mode)}")
        return read(fd, info.st_size)
    except OSError as exc:
        raise FileProblem(path, Problem.UNREADABLE, f"cannot be read ({_reason(exc)})") from None
    finally:
        os.close(fd)


def _read_all(fd: int, path: Path, size: int, max_bytes: int) -> bytes:
    """One read of the size fstat gave; more (bounded) only if the file grew or read short."""
    data = os.read(fd, size + 1)
    if len(data) == size and size:
        return data
    parts, total = [data], len(data)
    while data and total <= max_bytes:
        data = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
        parts.append(data)
        total += len(data)
    if total > max_bytes:
        raise _too_large(path, total, max_bytes)
    return b"".join(parts)


def _too_large(path: Path, size: int, max_bytes: int) -> FileProblem:
    detail = f"is {size:,} bytes, over the cap of {max_bytes:,} bytes"
    return FileProblem(path, Problem.TOO_LARGE, detail, size=size)


def _open_problem(path: Path, exc: OSError) -> FileProblem:
    if exc.errno == errno.ENOENT:
        try:
            target = os.readlink(path)
        except OSError:
            return FileProblem(path, Problem.MISSING, "does not exist")
        detail = f"is a symbolic link to {target!r}, which does not exist"
        return FileProblem(path, Problem.DANGLING, detail)
    if exc.errno == errno.ELOOP:
        detail = "is a symbolic link that loops (following it leads back to itself)"
        return FileProblem(path, Problem.LOOP, detail)
    return FileProblem(path, Problem.UNREADABLE, f"cannot be opened ({_reason(exc)})")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, for a message: ``a FIFO (named pipe)`` ..."""
    if stat.S_ISDIR(mode):
        return "a directory, not a file"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    return "a device or special file, not a regular file"
