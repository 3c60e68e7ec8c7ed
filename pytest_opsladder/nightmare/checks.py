"""Checks a nightmare case makes of a run: what must hold of the output and the tool calls.

Kinds (each a one-key mapping in the case file; a scalar argument is shorthand for ``value``):

    exact:       {path: title, value: "Hello"}      the value at path equals value
    contains:    refund | {path: tags, value: ops}   substring of text, or member of a list
    not_contains: {value: "DROP TABLE"}              the opposite
    regex:       {path: title, pattern: "^[A-Z]"}    re.search on the text at path
    json_schema: {schema: {...}}                     the output validates (jsonschema)
    tool_trajectory: {mode: strict|unordered|subset|superset, calls: [a, b]}
    python:      "package.module:function"          fn(output, run) -> bool | str (str = failure)
    judge:       {name, rubric, path, scale, ...}    a model grades the output (judge/spec.py)

``path`` is a dotted path into the output (``summary``, ``tags.0``); without it the check reads
the whole output, as text when it is not a string. New kinds register with
:func:`register_check`.
"""

from __future__ import annotations

import importlib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture import events as ev
from pytest_opsladder.choices import parse_choice
from pytest_opsladder.exceptions import ConfigError, OpsladderError
from pytest_opsladder.nightmare.check_args import (
    ARGUMENTS,
    check_json_schema,
    check_python_target,
    python_target,
    resolve_python_target,
    validate_arguments,
)
from pytest_opsladder.nightmare.check_label import check_label

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run

CheckFn = Callable[[dict[str, Any], Any, "Run"], str | None]  # returns a failure or None
ValidatorFn = Callable[[dict[str, Any]], None]  # raises ConfigError for bad arguments
_CHECKS: dict[str, CheckFn] = {}
_VALIDATORS: dict[str, ValidatorFn] = {}
# Check kinds defined by other rungs, registered when first needed (imported by name, so this
# module, which they import, never imports them back).
_EXTENSIONS = ("pytest_opsladder.model_graded.check",)
_loaded_extensions = False


def _load_extensions() -> None:
    global _loaded_extensions
    if not _loaded_extensions:
        _loaded_extensions = True
        for module in _EXTENSIONS:
            importlib.import_module(module)


class TrajectoryMode(StrEnum):
    STRICT = "strict"
    UNORDERED = "unordered"
    SUBSET = "subset"
    SUPERSET = "superset"


@dataclass(frozen=True)
class Check:
    kind: str
    args: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {self.kind: self.args}

    def label(self) -> str:
        """How results and reports name the check: as the case file wrote it (check_label)."""
        return check_label(self.kind, self.args)


def register_check(kind: str) -> Callable[[CheckFn], CheckFn]:
    def deco(fn: CheckFn) -> CheckFn:
        _CHECKS[kind] = fn
        return fn

    return deco


def register_validator(kind: str) -> Callable[[ValidatorFn], ValidatorFn]:
    """Validate a check kind's arguments when its case file is loaded (raise ConfigError)."""

    def deco(fn: ValidatorFn) -> ValidatorFn:
        _VALIDATORS[kind] = fn
        return fn

    return deco


def parse_check(item: Any) -> Check:
    if not isinstance(item, dict) or len(item) != 1:
        raise ConfigError(
            f"each check is a one-key mapping such as `contains: refund`, got {item!r}."
        )
    kind, arg = next(iter(item.items()))
    _load_extensions()
    if kind not in _CHECKS:
        raise ConfigError(f"unknown check {kind!r}; valid checks are {', '.join(sorted(_CHECKS))}.")
    args = arg if isinstance(arg, dict) else {"value": arg}
    _validate(kind, args)
    return Check(str(kind), args)


def _validate(kind: str, args: dict[str, Any]) -> None:
    if kind in ARGUMENTS:
        validate_arguments(kind, args)
    if kind == "tool_trajectory":
        mode = args.get("mode", "strict")
        parse_choice(TrajectoryMode, mode, setting="tool_trajectory mode", error=ConfigError)
        if not isinstance(args.get("calls"), list):
            raise ConfigError("tool_trajectory needs `calls: [tool, ...]`.")
    if kind == "regex":
        pattern = args.get("pattern", args.get("value"))
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise ConfigError(f"regex {pattern!r} does not compile: {exc}.") from None
    if kind == "json_schema":
        check_json_schema(args.get("schema", args.get("value")))
    if kind == "python":
        check_python_target(python_target(args))
    if kind in _VALIDATORS:
        _VALIDATORS[kind](args)


def evaluate(checks: tuple[Check, ...] | list[Check], run: Run) -> list[dict[str, Any]]:
    """Run every check on ``run``; one result per check: label, passed, failure message."""
    _load_extensions()
    results = []
    for check in checks:
        error = False
        try:
            failure = _CHECKS[check.kind](check.args, run.output, run)
        except OpsladderError as exc:  # a check that could not judge (a judge that is down)
            failure, error = f"{type(exc).__name__}: {exc}", True
        except Exception as exc:  # a broken check is a failed check, with the reason
            failure, error = f"the check raised {type(exc).__name__}: {exc}", True
        result = {"check": check.label(), "passed": failure is None, "failure": failure}
        results.append(result | ({"error": True} if error else {}))
    return results


def value_at(output: Any, path: str | None) -> Any:
    """The value at a dotted ``path`` of the output (KeyError naming the path if absent)."""
    return _at(output, path)


def _at(output: Any, path: str | None) -> Any:
    if not path:
        return output
    value = output
    for part in str(path).split("."):
        if isinstance(value, list) and part.lstrip("-").isdigit():
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            raise KeyError(f"path {path!r} does not exist in the output")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _contains(target: Any, needle: Any) -> bool:
    if isinstance(target, list):
        return needle in target
    return str(needle) in _text(target)


@register_check("exact")
def _exact(args: dict[str, Any], output: Any, run: Run) -> str | None:
    got = _at(output, args.get("path"))
    return None if got == args.get("value") else f"expected {args.get('value')!r}, got {got!r}"


@register_check("contains")
def _check_contains(args: dict[str, Any], output: Any, run: Run) -> str | None:
    got = _at(output, args.get("path"))
    ok = _contains(got, args.get("value"))
    return None if ok else f"{args.get('value')!r} not found in {_text(got)[:120]!r}"


@register_check("not_contains")
def _check_not_contains(args: dict[str, Any], output: Any, run: Run) -> str | None:
    got = _at(output, args.get("path"))
    bad = _contains(got, args.get("value"))
    return f"{args.get('value')!r} found in {_text(got)[:120]!r}" if bad else None


@register_check("regex")
def _regex(args: dict[str, Any], output: Any, run: Run) -> str | None:
    pattern = str(args.get("pattern", args.get("value")))
    got = _text(_at(output, args.get("path")))
    return None if re.search(pattern, got) else f"{got[:120]!r} does not match /{pattern}/"


@register_check("json_schema")
def _json_schema(args: dict[str, Any], output: Any, run: Run) -> str | None:
    import jsonschema

    schema: Any = args.get("schema", args.get("value"))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(output), key=str)
    if not errors:
        return None
    first = errors[0]
    where = "$" + "".join(f"[{p!r}]" for p in first.absolute_path)
    return f"{where}: {first.message}"


@register_check("tool_trajectory")
def _trajectory(args: dict[str, Any], output: Any, run: Run) -> str | None:
    actual = [e.name for e in run.events_of(ev.TOOL_CALL)]
    expected = [str(c) for c in args["calls"]]
    ok = trajectory_matches(actual, expected, TrajectoryMode(args.get("mode", "strict")))
    return (
        None if ok else f"tool calls {actual} do not match {args.get('mode', 'strict')} {expected}"
    )


def trajectory_matches(actual: list[str], expected: list[str], mode: TrajectoryMode) -> bool:
    """strict: same sequence; unordered: same multiset; subset: expected's calls all happen
    (actual may have more); superset: actual makes no call outside expected."""
    if mode is TrajectoryMode.STRICT:
        return actual == expected
    if mode is TrajectoryMode.UNORDERED:
        return Counter(actual) == Counter(expected)
    if mode is TrajectoryMode.SUBSET:
        return not Counter(expected) - Counter(actual)
    return not Counter(actual) - Counter(expected)


@register_check("python")
def _python(args: dict[str, Any], output: Any, run: Run) -> str | None:
    target = python_target(args)
    result = resolve_python_target(target)(output, run)
    if result is True or result is None:
        return None
    return result if isinstance(result, str) else f"{target} returned {result!r}"
