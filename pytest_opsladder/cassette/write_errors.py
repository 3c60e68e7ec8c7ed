"""What a failed write says: the file, the cause (errno) and the fix for whoever wrote it.

The same atomic writer serves cassettes (written under pytest) and the production run store
(written by ``capture()`` without pytest). A :class:`WriteTarget` names what the file is and
how its owner moves it elsewhere, so a production user is never told about a pytest option.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from pytest_opsladder.exceptions import CassetteWriteError


@dataclass(frozen=True)
class WriteTarget:
    """What is written (``noun``), in what (``place``), and how its owner moves it elsewhere."""

    noun: str
    elsewhere: str  # "point the cassettes elsewhere with ..."
    again: str  # what to do once fixed: "record again"
    place: str = ""  # " in the run store runs/" (after the path)
    error: type[CassetteWriteError] = CassetteWriteError


CASSETTE = WriteTarget(
    "cassette",
    "point the cassettes elsewhere with --opsladder-cassette-dir / the opsladder_cassette_dir "
    "ini key",
    "record again",
)


def open_failed(path: Path, exc: OSError, target: WriteTarget = CASSETTE) -> CassetteWriteError:
    """The error when the directory or the temporary file beside ``path`` cannot be made."""
    return target.error(
        f"cannot write {target.noun} {path}{target.place}: {exc.strerror or exc} "
        f"(errno {exc.errno}) in directory {path.parent}; nothing was written. "
        f"Fix: {write_fix(path, exc, target)}",
        path=path,
    )


def write_failed(
    path: Path, exc: OSError, doing: str, target: WriteTarget = CASSETTE
) -> CassetteWriteError:
    """The error of a write that failed with ``exc``: the file, the cause, the fix."""
    noun = target.noun
    kept = f"the {noun} there is unchanged" if path.is_file() else f"no {noun} was written"
    return target.error(
        f"cannot {doing} {noun} {path}{target.place}: {exc.strerror or exc} (errno "
        f"{exc.errno}); {kept}, and no temporary file is left. "
        f"Fix: {write_fix(path, exc, target)}",
        path=path,
    )


def write_fix(path: Path, exc: OSError, target: WriteTarget = CASSETTE) -> str:
    blocker = _file_in_the_way(path)
    if blocker is not None:
        return (
            f"{blocker} is a file where a directory is needed; move it away, or "
            f"{target.elsewhere}; then {target.again}."
        )
    if path.is_dir() or exc.errno == errno.EISDIR:
        return f"{path} is a directory; move it away or remove it, then {target.again}."
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (
            f"free space on the disk holding {path.parent} (or raise the file size limit), or "
            f"{target.elsewhere}; then {target.again}."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"make {path.parent} writable, or {target.elsewhere}; then {target.again}."
    return f"check the disk and the directory {path.parent}, or {target.elsewhere}."


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` when it is not a directory (ENOTDIR)."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None
