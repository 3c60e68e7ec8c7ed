"""Parsing closed sets of values (every str Enum of the package): one helper, one wording.

``parse_choice(Mode, "playback", setting="opsladder mode")`` raises::

    'playback' is not a valid opsladder mode. Valid values are: replay, record, shadow.

The error is an :class:`InvalidChoiceError` *and* the area's own error class (``error=``), so
callers catch either: ``except InvalidChoiceError`` anywhere, ``except GateConfigError`` where
they always did.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from pytest_opsladder.exceptions import ConfigError, OpsladderError

E = TypeVar("E", bound=StrEnum)


class InvalidChoiceError(OpsladderError):
    """A value outside a closed set. ``value``, ``valid`` and ``setting`` say which."""

    value: object = None
    valid: tuple[str, ...] = ()
    setting: str = ""


_CLASSES: dict[type[Exception], type[Exception]] = {}


def _error_class(error: type[Exception]) -> type[Exception]:
    """``error`` combined with InvalidChoiceError (one class per area error, made once)."""
    if issubclass(error, InvalidChoiceError):
        return error
    if error not in _CLASSES:
        bases = (error, InvalidChoiceError)
        _CLASSES[error] = type(error.__name__, bases, {"__module__": error.__module__})
    return _CLASSES[error]


def choice_message(enum: type[StrEnum], value: object, setting: str, *, where: str = "") -> str:
    """The one wording: the value, what it was for, and every valid value."""
    valid = ", ".join(m.value for m in enum)
    return f"{where}{value!r} is not a valid {setting}. Valid values are: {valid}."


def parse_choice(
    enum: type[E],
    value: object,
    *,
    setting: str,
    error: type[Exception] = ConfigError,
    where: str = "",
    fix: str = "",
    fold_case: bool = False,
    **error_kwargs: Any,
) -> E:
    """The member of ``enum`` for ``value``, else ``error`` (also an InvalidChoiceError).

    ``where`` prefixes the message with the place (``"opsladder_stale_sdk = "``), ``fix`` ends
    it with how to fix it; ``fold_case`` accepts any case and surrounding spaces.
    """
    if isinstance(value, enum):
        return value
    text = "" if value is None else str(value)
    text = text.strip().lower() if fold_case else text
    member = enum._value2member_map_.get(text)
    if member is not None:  # what enum(text) returns, without its call (a per-case hot path)
        return member  # type: ignore[return-value]
    message = choice_message(enum, value, setting, where=where) + (f" {fix}" if fix else "")
    exc = _error_class(error)(message, **error_kwargs)
    exc.value, exc.setting = value, setting  # type: ignore[attr-defined]
    exc.valid = tuple(m.value for m in enum)  # type: ignore[attr-defined]
    raise exc
