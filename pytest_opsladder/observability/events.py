"""Recording retries and errors with low-cardinality codes (ladder level 3).

Error codes are a closed, small set (:class:`ErrorCode`) so that a metric labelled by code
never explodes; the exception's type name travels beside it as ``type``. A success after
retries records the retries and no error: :func:`retrying` does exactly that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.run import emit
from pytest_opsladder.modes import _ChoiceEnum
from pytest_opsladder.observability.context import current_step
from pytest_opsladder.observability.redaction import redact_text

T = TypeVar("T")


class ErrorCode(_ChoiceEnum):
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    CONNECTION = "connection"
    AUTH = "auth"
    SERVER_ERROR = "server_error"
    BAD_REQUEST = "bad_request"
    INVALID = "invalid"
    CANCELLED = "cancelled"
    OTHER = "other"


_BY_NAME = (
    ("timeout", ErrorCode.TIMEOUT),
    ("ratelimit", ErrorCode.RATE_LIMITED),
    ("connection", ErrorCode.CONNECTION),
    ("permission", ErrorCode.AUTH),
    ("authentication", ErrorCode.AUTH),
    ("cancelled", ErrorCode.CANCELLED),
    ("validation", ErrorCode.INVALID),
)
_INVALID = {"ValueError", "TypeError", "KeyError", "IndexError", "JSONDecodeError"}


def error_code(type_name: str, status: int | None = None) -> ErrorCode:
    """The low-cardinality code of an error, from its type name and HTTP status if any."""
    if status is not None:
        return _by_status(status)
    lowered = type_name.lower()
    for needle, code in _BY_NAME:
        if needle in lowered:
            return code
    return ErrorCode.INVALID if type_name in _INVALID else ErrorCode.OTHER


def _by_status(status: int) -> ErrorCode:
    if status == 429:
        return ErrorCode.RATE_LIMITED
    if status in (401, 403):
        return ErrorCode.AUTH
    if status == 408:
        return ErrorCode.TIMEOUT
    return ErrorCode.SERVER_ERROR if status >= 500 else ErrorCode.BAD_REQUEST


def code_of(exc: BaseException) -> ErrorCode:
    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    return error_code(type(exc).__name__, status if isinstance(status, int) else None)


def _step_path() -> str | None:
    st = current_step()
    return st.path if st else None


def record_error(exc: BaseException, name: str = "", *, fatal: bool = False) -> None:
    """Emit an ``error`` event: code, type, redacted message, step."""
    emit(
        ev.ERROR,
        name or type(exc).__name__,
        {
            "code": code_of(exc).value,
            "type": type(exc).__name__,
            "message": redact_text(str(exc))[:500],
            "fatal": fatal,
            "step": _step_path(),
        },
    )


def record_retry(name: str, attempt: int, exc: BaseException | None = None) -> None:
    """Emit a ``retry`` event: which attempt failed, and why (as a code)."""
    reason = code_of(exc).value if exc is not None else None
    emit(ev.RETRY, name, {"attempt": attempt, "reason": reason, "step": _step_path()})


def retrying(
    fn: Callable[[], T],
    *,
    name: str,
    attempts: int = 3,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` up to ``attempts`` times; a retry is an event, only the last failure an error."""
    if not isinstance(attempts, int) or attempts < 1:
        from pytest_opsladder.exceptions import ConfigError

        raise ConfigError(
            f"retrying({name!r}): attempts={attempts!r} must be a whole number >= 1 "
            "(1 means a single try without retries)."
        )
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except retry_on as exc:
            if attempt == attempts:
                record_error(exc, name, fatal=True)
                raise
            record_retry(name, attempt, exc)
            sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


def emit_event(kind: str, name: str = "", **data: Any) -> None:
    """Emit a structured event into the current run (a no-op outside one)."""
    emit(kind, name, data)
