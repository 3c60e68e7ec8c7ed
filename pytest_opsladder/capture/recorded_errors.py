"""Exceptions a tool raised, stored in a cassette and raised again in replay (ladder level 0).

The agent's error handling must take the same path in replay as when the run was recorded, so a
recorded builtin exception replays as the same type with the same arguments: ``KeyError('x')``
(not ``KeyError("'x'")``), ``UnicodeDecodeError`` with its five arguments, ``OSError``
subclasses with errno, strerror and filenames, ``ExceptionGroup`` with its sub-exceptions
rebuilt one by one. A type that cannot be rebuilt faithfully (not a builtin, arguments that are
not JSON, a record from an older cassette that lacks them and would change them) replays as
:class:`~pytest_opsladder.exceptions.RecordedToolError` naming the type - never as a different
error. Nothing is imported or executed to do this: only :mod:`builtins` types are created.
"""

from __future__ import annotations

import ast
import base64
import builtins
import contextlib
from typing import Any

from pytest_opsladder.exceptions import CassetteReplayError, RecordedToolError

_OS_ATTRS = ("errno", "strerror", "filename", "filename2")
_MAX_GROUP_DEPTH = 20


class _NotJson(Exception):
    pass


def error_record(exc: BaseException, depth: int = 0) -> dict[str, Any]:
    """The JSON form of ``exc``: type, module, message, and what rebuilds it."""
    record: dict[str, Any] = {
        "type": type(exc).__name__,
        "module": type(exc).__module__,
        "message": _text(exc),
    }
    # args that are not JSON: replay cannot rebuild them, it raises RecordedToolError instead
    with contextlib.suppress(_NotJson):
        record["args"] = [_arg(a) for a in exc.args]
    if isinstance(exc, OSError):
        record["os"] = {k: _os_attr(getattr(exc, k, None)) for k in _OS_ATTRS}
    if isinstance(exc, BaseExceptionGroup) and depth < _MAX_GROUP_DEPTH:
        record["group_message"] = exc.message
        record["exceptions"] = [error_record(e, depth + 1) for e in exc.exceptions]
    return record


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a __str__ that raises must not lose the run
        return repr(exc.args)


def _arg(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else repr(value)
    if isinstance(value, bytes | bytearray):
        return {"__bytes_b64__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list | tuple):
        return (
            {"__tuple__": [_arg(v) for v in value]}
            if isinstance(value, tuple)
            else [_arg(v) for v in value]
        )
    raise _NotJson


def _os_attr(value: Any) -> Any:
    try:
        return _arg(value)
    except _NotJson:
        return str(value)


def reraise_recorded(err: Any) -> BaseException:
    """The exception to raise for a recorded error record."""
    if not isinstance(err, dict) or not isinstance(err.get("type"), str):
        raise CassetteReplayError(
            f"a recorded tool error is {err!r}, not an error record (an object with 'type', "
            "'module' and 'message'). The cassette was edited by hand: re-record the run."
        )
    return _rebuild(err, 0)


def _rebuild(err: dict[str, Any], depth: int) -> BaseException:
    name, module = str(err.get("type")), str(err.get("module", "?"))
    message = str(err.get("message", ""))
    kind = getattr(builtins, name, None)
    if module != "builtins" or not isinstance(kind, type) or not issubclass(kind, Exception):
        return RecordedToolError(name, module, message)
    try:
        return _construct(kind, err, depth)
    except (TypeError, ValueError, KeyError, SyntaxError, MemoryError, RecursionError, _NotJson):
        return RecordedToolError(name, module, message)


def _construct(kind: type[Exception], err: dict[str, Any], depth: int) -> Exception:
    if issubclass(kind, BaseExceptionGroup):
        subs = err.get("exceptions")
        if not isinstance(subs, list) or not subs or depth >= _MAX_GROUP_DEPTH:
            raise _NotJson
        rebuilt = [_rebuild(s, depth + 1) if isinstance(s, dict) else None for s in subs]
        if any(e is None or not isinstance(e, Exception) for e in rebuilt):
            raise _NotJson
        return kind(str(err.get("group_message", "")), rebuilt)
    args = err.get("args")
    if not isinstance(args, list):  # an older record: rebuild from the message when faithful
        if kind is KeyError:
            return kind(ast.literal_eval(str(err.get("message"))))
        if issubclass(kind, OSError | UnicodeError):
            raise _NotJson  # the message alone would change the arguments
        return kind(err.get("message", ""))
    exc = kind(*[_unarg(a) for a in args])
    if isinstance(exc, OSError) and isinstance(err.get("os"), dict):
        _restore_os(exc, err["os"])
    return exc


def _restore_os(exc: OSError, attrs: dict[str, Any]) -> None:
    for key in _OS_ATTRS:
        value = attrs.get(key)
        if value is not None:
            setattr(exc, key, _unarg(value))


def _unarg(value: Any) -> Any:
    if isinstance(value, dict):
        if "__bytes_b64__" in value:
            return base64.b64decode(str(value["__bytes_b64__"]))
        if "__tuple__" in value and isinstance(value["__tuple__"], list):
            return tuple(_unarg(v) for v in value["__tuple__"])
        raise _NotJson
    if isinstance(value, list):
        return [_unarg(v) for v in value]
    return value
