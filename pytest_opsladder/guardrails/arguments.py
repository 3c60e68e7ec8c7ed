"""Tool arguments under a policy (ladder level 4): malformed input fails closed, constraints.

A model's tool call arrives as JSON text. ``null``, a list where an object belongs, ``NaN`` or
text that is not JSON at all is not something to guess about: such a call needs a human's
per-call approval (a ``manual`` ask). Argument constraints (a path inside the workspace, a host
on an allow-list, an amount under a ceiling) are checked on the parsed values.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pytest_opsladder import _json
from pytest_opsladder.guardrails.verdicts import Decision, Verdict
from pytest_opsladder.guardrails.workspace import Workspace

MALFORMED = "malformed-arguments"


class ConstraintKind(StrEnum):
    """What a constraint checks about one argument."""

    PATH_IN_WORKSPACE = "path_in_workspace"
    HOST_IN = "host_in"
    AMOUNT_MAX = "amount_max"


@dataclass(frozen=True, slots=True)
class Constraint:
    """A rule on one argument of some tools; ``decision`` is what a violation gets."""

    id: str
    tools: tuple[str, ...]
    arg: str
    kind: ConstraintKind
    decision: Verdict = Verdict.DENY
    hosts: tuple[str, ...] = ()
    max: float | None = None
    reason: str = ""


def _malformed(why: str) -> Decision:
    return Decision(Verdict.ASK, MALFORMED, f"{why}; a human must approve this call", True)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def normalize_args(raw: Any) -> tuple[dict[str, Any], Decision | None]:
    """The arguments as a dict, and a manual ask when they are malformed (never raises)."""
    if isinstance(raw, str | bytes):
        try:
            raw = _json.parse(raw, parse_constant=_reject_constant)
        except ValueError as exc:
            return {}, _malformed(f"the arguments are not valid JSON ({exc})")
    if raw is None:
        return {}, _malformed("the arguments are null")
    if not isinstance(raw, dict):
        return {}, _malformed(f"the arguments are a {type(raw).__name__}, not an object")
    bad = _non_finite(raw, "$")
    if bad:
        return raw, _malformed(f"argument {bad} is NaN or infinite")
    return raw, None


def _non_finite(value: Any, path: str) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return path
    items: Any = value.items() if isinstance(value, dict) else ()
    if isinstance(value, list | tuple):
        items = enumerate(value)
    for key, item in items:
        found = _non_finite(item, f"{path}.{key}")
        if found:
            return found
    return None


def lookup(args: dict[str, Any], dotted: str) -> Any:
    """``args["a"]["b"]`` for ``"a.b"``; None when any step is missing."""
    value: Any = args
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def check_constraint(c: Constraint, args: dict[str, Any], ws: Workspace | None) -> Decision | None:
    """The constraint's decision when the argument violates it, else None."""
    value = lookup(args, c.arg)
    if value is None:
        return Decision(
            Verdict.ASK, c.id, f"argument {c.arg!r} is missing, so it cannot be checked"
        )
    problem = _PROBLEMS[c.kind](c, value, ws)
    if problem is None:
        return None
    return Decision(c.decision, c.id, f"{problem}" + (f" ({c.reason})" if c.reason else ""))


def _path_problem(c: Constraint, value: Any, ws: Workspace | None) -> str | None:
    if ws is None:
        return f"constraint needs a workspace, and the policy declares none ({c.arg}={value!r})"
    if not isinstance(value, str):
        return f"argument {c.arg!r} is {value!r}, not a path"
    if not ws.contains(value):
        return f"path {value!r} resolves to {ws.resolve(value)!r}, outside the workspace {ws.root}"
    return None


def _host_problem(c: Constraint, value: Any, ws: Workspace | None) -> str | None:
    if not isinstance(value, str) or not value.isascii():
        return f"argument {c.arg!r} is {value!r}, not an ASCII URL or host name"
    host = (urlsplit(value).hostname if "//" in value else value.split(":")[0].lower()) or ""
    if not any(fnmatch.fnmatchcase(host, pattern) for pattern in c.hosts):
        return f"host {host!r} of {value!r} is not in the allow-list {list(c.hosts)}"
    return None


def _amount_problem(c: Constraint, value: Any, ws: Workspace | None) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"argument {c.arg!r} is {value!r}, not a finite number"
    if c.max is not None and value > c.max:
        return f"{c.arg}={value!r} is over the limit {c.max!r}"
    return None


_PROBLEMS = {
    ConstraintKind.PATH_IN_WORKSPACE: _path_problem,
    ConstraintKind.HOST_IN: _host_problem,
    ConstraintKind.AMOUNT_MAX: _amount_problem,
}
