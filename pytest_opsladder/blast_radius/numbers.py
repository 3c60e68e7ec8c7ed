"""Numeric settings of the blast-radius controls (ladder level 6), checked when one is built.

A limit that is NaN compares false with everything, so a bucket of NaN seconds never runs
out and a breaker with ``fail_max=nan`` never opens; an infinite period divides to a rate of
zero. Each is a control that silently stops controlling, so every numeric setting must be a
real number (a bool is not one), finite and positive, and a count must be a whole number;
anything else is a :class:`BlastRadiusConfigError` naming the setting, its value and the fix.
"""

from __future__ import annotations

import math

from pytest_opsladder.blast_radius.errors import BlastRadiusConfigError

__all__ = ["count_problem", "positive_seconds", "seconds_problem"]


def seconds_problem(setting: str, value: object, *, zero_ok: bool = False) -> str:
    """Why ``value`` is not a finite number > 0 (>= 0 with ``zero_ok``); "" if it is one."""
    real = isinstance(value, int | float) and not isinstance(value, bool)
    if real and math.isfinite(value) and (value >= 0 if zero_ok else value > 0):  # type: ignore[arg-type,operator]
        return ""
    least = "0 or more" if zero_ok else "more than 0"
    return f"{setting}={value!r} must be a finite number {least} (not NaN, infinity or a bool)"


def count_problem(setting: str, value: object) -> str:
    """Why ``value`` is not a whole number >= 1 (an int; a bool or float is not); "" if it is."""
    if type(value) is int and value >= 1:
        return ""
    return f"{setting}={value!r} must be at least 1, a whole number (an int)"


def positive_seconds(value: object, *, owner: str, setting: str, example: str, **kw: bool) -> float:
    """``value`` as a float if :func:`seconds_problem` finds nothing, else the named error."""
    problem = seconds_problem(setting, value, **kw)
    if problem:
        raise BlastRadiusConfigError(f"{owner}: {problem}; write e.g. {example}.")
    return float(value)  # type: ignore[arg-type]
