"""Faithful odd values (issue 14): unencodable text round-trips, recorded exceptions replay as
the same type with the same arguments, or as RecordedToolError naming the type."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder import Case, Mode, RecordMode, RunRecorder, Variant, tool
from pytest_opsladder.cassette import files
from pytest_opsladder.exceptions import RecordedToolError

LONE = "caf\udce9 \ud800 end"  # lone surrogates: what os.fsdecode gives for undecodable bytes

RAISED: list[BaseException] = []


@tool(name="odd_echo")
def echo(text: str) -> dict[str, Any]:
    return {"text": text, "list": [text]}


@tool(name="odd_raise")
def raise_it(i: int) -> None:
    raise RAISED[i]


def run(path: Path, mode: Mode, n: int, text: str = LONE) -> list[Any]:
    out: list[Any] = []
    record = RecordMode.ALL if mode is Mode.RECORD else None
    with RunRecorder(Case("odd"), Variant("v"), path, mode=mode, record_mode=record) as r:
        out.append(echo(text))
        for i in range(n):
            try:
                raise_it(i)
            except Exception as exc:
                out.append(exc)
        r.output = {"echo": out[0]}
    return out


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_lone_surrogates_round_trip_escaped(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"c{suffix}"
    recorded = run(path, Mode.RECORD, 0)
    path.read_bytes().decode("utf-8")  # the file itself is valid UTF-8: escaped
    replayed = run(path, Mode.REPLAY, 0)
    assert replayed[0] == recorded[0] == {"text": LONE, "list": [LONE]}
    assert files.load(path).output == {"echo": {"text": LONE, "list": [LONE]}}


class Custom(Exception):
    pass


def _cases() -> list[BaseException]:
    group = ExceptionGroup("two", [ValueError("a", 1), KeyError("k")])
    return [
        KeyError("missing"),
        ValueError("bad", 3),
        UnicodeDecodeError("utf-8", b"\xff\xfe", 0, 1, "invalid start byte"),
        UnicodeEncodeError("ascii", "\u00e9", 0, 1, "ordinal not in range"),
        FileNotFoundError(errno.ENOENT, "No such file or directory", "/tmp/x.txt"),
        PermissionError(errno.EACCES, "Permission denied"),
        ConnectionResetError(errno.ECONNRESET, "reset"),
        TimeoutError("slow"),
        group,
        ExceptionGroup("outer", [group, OSError(errno.EIO, "io")]),
        ZeroDivisionError("division by zero"),
        StopIteration(7),
        RuntimeError(),
        Custom("mine"),
    ]


def _same(a: BaseException, b: BaseException) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, BaseExceptionGroup):
        assert isinstance(b, BaseExceptionGroup)
        subs = zip(a.exceptions, b.exceptions, strict=True)
        return a.message == b.message and all(_same(x, y) for x, y in subs)
    return a.args == b.args and str(a) == str(b)


def test_recorded_exceptions_replay_as_the_same_type_with_the_same_arguments(
    tmp_path: Path,
) -> None:
    RAISED[:] = _cases()
    path = tmp_path / "c.json"
    recorded = run(path, Mode.RECORD, len(RAISED))[1:]
    replayed = run(path, Mode.REPLAY, len(RAISED))[1:]
    for original, got in zip(recorded[:-1], replayed[:-1], strict=True):
        assert _same(original, got), (original, got)
    fnf = replayed[4]
    assert (fnf.errno, fnf.strerror, fnf.filename) == (2, "No such file or directory", "/tmp/x.txt")
    custom = replayed[-1]
    assert isinstance(custom, RecordedToolError)
    assert (custom.type_name, custom.message) == ("Custom", "mine")
