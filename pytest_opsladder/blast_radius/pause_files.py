"""Reading the global pause's state files without trusting them (ladder level 6).

A pause state file can be missing, a dangling symlink, a directory, a FIFO (whose blocking open
would hang the reader), a device, unreadable, huge or garbled. :func:`read_pause_file` never
blocks and never raises: it says whether the file is *missing*, *ok* (with its JSON object) or
*odd* (with the reason), and the pause reads every odd file as paused. A dangling symlink is odd,
not missing: something was put there.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_opsladder._regular_file import FileProblem, Problem, read_regular

MAX_BYTES = 64 * 1024  # a pause record is a few hundred bytes; more is not one
# What pause/resume read of a file they are about to replace, to tell a pause state from
# someone's data (a state padded by hand can pass 64 KiB; a results.json easily 1 MiB)
_MAX_CHECKED = 1 << 20


class FileKind(StrEnum):
    """What was found at a pause state path."""

    MISSING = "missing"
    OK = "ok"
    ODD = "odd"


@dataclass(frozen=True)
class PauseFile:
    """One read: ``data`` is the JSON object when ``kind`` is ``ok``, ``problem`` when odd."""

    kind: FileKind
    data: dict[str, Any] = field(default_factory=dict)
    problem: str = ""


_MISSING = PauseFile(FileKind.MISSING)


def _odd(path: Path, why: str) -> PauseFile:
    return PauseFile(FileKind.ODD, problem=f"pause state {path} is unreadable ({why})")


def read_pause_file(path: Path) -> PauseFile:
    """Read ``path`` without blocking; see the module docstring for the outcomes."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return _missing_or_dangling(path)
    except OSError as exc:  # a loop of symlinks, a file where a directory should be, EACCES
        return _odd(path, exc.strerror or repr(exc))
    if not stat.S_ISREG(st.st_mode):
        return _odd(path, f"not a regular file but {stat.filemode(st.st_mode)}")
    return _read_regular(path)


def _missing_or_dangling(path: Path) -> PauseFile:
    try:
        os.lstat(path)
    except OSError:
        return _MISSING
    return _odd(path, f"a symlink to {os.readlink(path)!r}, which does not exist")


def _read_regular(path: Path) -> PauseFile:
    try:  # O_NONBLOCK: if a FIFO was swapped in since the stat, open still returns at once
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return _odd(path, exc.strerror or repr(exc))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return _odd(path, "not a regular file")
        raw = os.read(fd, MAX_BYTES + 1)
    except OSError as exc:
        return _odd(path, exc.strerror or repr(exc))
    finally:
        os.close(fd)
    return _parse(path, raw)


def _parse(path: Path, raw: bytes) -> PauseFile:
    if len(raw) > MAX_BYTES:
        return _odd(path, f"larger than {MAX_BYTES} bytes")
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return _odd(path, f"not JSON: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("paused"), bool):
        return _odd(path, 'expected {"paused": true|false, ...}')
    return PauseFile(FileKind.OK, data)


@dataclass(frozen=True)
class Occupant:
    """What is in a regular file that pause/resume would replace but is not a pause state:
    ``what`` for the message; ``json`` when it is JSON data that no pause state ever was
    (else it may be a damaged one)."""

    what: str
    json: bool


def occupant(path: Path) -> Occupant | None:
    """What the regular file at ``path`` holds if it is not a pause state, else None (also
    when there is no regular file: writing a state there is the caller's own problem)."""
    try:
        raw = read_regular(path, _MAX_CHECKED)
    except FileProblem as exc:
        if exc.problem is Problem.TOO_LARGE:
            return Occupant(f"{exc.size:,} bytes, far more than a pause state", json=False)
        return None
    if not raw.strip():
        return None  # empty: a truncated state, nothing to lose
    return _judge(raw)


def _judge(raw: bytes) -> Occupant | None:
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Occupant("text or bytes that are not JSON", json=False)
    if isinstance(data, dict) and isinstance(data.get("paused"), bool):
        return None
    if isinstance(data, dict) and "paused" in data:  # a hand edit gone wrong, perhaps
        return Occupant('a pause state whose "paused" is not true or false', json=False)
    if isinstance(data, dict):
        keys = ", ".join(repr(k) for k in list(data)[:3]) or "no keys"
        return Occupant(f'a JSON object ({keys}) without "paused": true|false', json=True)
    return Occupant(f"a JSON {type(data).__name__}", json=True)
