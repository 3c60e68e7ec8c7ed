"""The arguments of the built-in nightmare checks, validated when a case is loaded (level 7).

A check that cannot work must fail the case file at collection, naming the check and the fix,
not every run of it: ``exact`` without ``value`` compared the output with null, a schema that
is not JSON Schema raised at run time, a typo'd argument (``pth``) was ignored, and a
``python`` check naming a module or function that does not exist failed only when it ran.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_opsladder.exceptions import ConfigError

# The arguments each built-in kind reads, and those it cannot do without (one of each tuple).
ARGUMENTS: dict[str, tuple[frozenset[str], tuple[tuple[str, ...], ...]]] = {
    "exact": (frozenset({"path", "value"}), (("value",),)),
    "contains": (frozenset({"path", "value"}), (("value",),)),
    "not_contains": (frozenset({"path", "value"}), (("value",),)),
    "regex": (frozenset({"path", "pattern", "value"}), (("pattern", "value"),)),
    "json_schema": (frozenset({"schema", "value"}), (("schema", "value"),)),
    "tool_trajectory": (frozenset({"mode", "calls"}), (("calls",),)),
    "python": (frozenset({"function", "value"}), (("function", "value"),)),
}
_EXAMPLES = {
    "exact": "exact: {path: title, value: Hello}",
    "contains": "contains: {path: reply, value: refund}",
    "not_contains": 'not_contains: {path: reply, value: "DROP TABLE"}',
    "regex": 'regex: {path: title, pattern: "^[A-Z]"}',
    "json_schema": "json_schema: {schema: {type: object, required: [title]}}",
    "tool_trajectory": "tool_trajectory: {mode: strict, calls: [search, refund]}",
    "python": "python: 'package.module:function'",
}
_TARGET = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def check_python_target(target: str) -> None:
    """The form of a ``python`` check's target (its import is checked at collection)."""
    if not _TARGET.match(target):
        raise ConfigError(
            f"python check {target!r}: name a function as 'package.module:function' "
            "(a dotted module, a colon, the function's name)."
        )


def validate_arguments(kind: str, args: dict[str, Any]) -> None:
    """Unknown arguments (a typo would be ignored: ``pth`` for ``path`` checks the whole
    output) and missing required ones (``exact`` without ``value`` compares with null)."""
    known, required = ARGUMENTS[kind]
    unknown = sorted(str(key) for key in args if key not in known)
    if unknown:
        raise ConfigError(
            f"{kind} has no argument {unknown[0]!r}; its arguments are "
            f"{', '.join(sorted(known))}, e.g. `{_EXAMPLES[kind]}`."
        )
    for choices in required:
        if not any(name in args for name in choices):
            raise ConfigError(f"{kind} needs `{'` or `'.join(choices)}`, e.g. `{_EXAMPLES[kind]}`.")


_VALID_SCHEMAS: dict[str, None] = {}  # canonical texts of schemas that passed check_schema


def check_json_schema(schema: Any) -> None:
    """A ``json_schema`` check's schema must itself be valid JSON Schema (2020-12): an invalid
    one made every run fail (or pass) with a SchemaError at run time instead."""
    import jsonschema

    try:
        key = json.dumps(schema, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        key = None
    if key is not None and key in _VALID_SCHEMAS:
        return
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "$" + "".join(f"[{p!r}]" for p in exc.absolute_path)
        raise ConfigError(
            f"json_schema: the schema is not valid JSON Schema (2020-12) at {where}: "
            f"{exc.message}. Fix the schema, e.g. `{_EXAMPLES['json_schema']}`."
        ) from None
    if key is not None and len(_VALID_SCHEMAS) < 10_000:
        _VALID_SCHEMAS[key] = None


def python_target(args: dict[str, Any]) -> str:
    """The ``package.module:function`` a ``python`` check names."""
    return str(args.get("value", args.get("function", "")))


def python_targets(checks: list[Any]) -> list[str]:
    """The targets of the ``python`` checks among raw checks (``{python: 'm:f'}`` mappings)."""
    out = []
    for check in checks:
        if isinstance(check, dict) and "python" in check:
            args = check["python"]
            out.append(python_target(args) if isinstance(args, dict) else str(args))
    return out


def missing_module(target: str, root: Path) -> str | None:
    """The first package or module of ``target`` that cannot be found with ``root`` on the
    path, or None. Packages on the way are imported (their ``__init__``), the module itself is
    not: a curation command never runs the check's code."""
    module_name = target.partition(":")[0]
    parts = module_name.split(".")
    sys.path.insert(0, str(root))
    try:
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            try:
                if importlib.util.find_spec(name) is None:
                    return name
            except (ImportError, ValueError):
                return name
            except Exception:  # a package whose __init__ fails: collection reports it
                return None
    finally:
        sys.path.remove(str(root))
    return None


def resolve_python_target(target: str) -> Callable[..., Any]:
    """The function a ``python`` check names, imported; ConfigError naming what is missing.

    Run at collection (where the test run's ``sys.path`` and conftests are in place), so an
    unknown module or function is an error of the case file, not a failure of every run."""
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or whatever the module raised on import
        raise ConfigError(
            f"python check {target!r}: module {module_name!r} cannot be imported "
            f"({type(exc).__name__}: {exc}). Fix the module name, or make it importable from "
            "the test run (the rootdir, pythonpath in the pytest config, or an installed "
            "package)."
        ) from None
    fn: Any = getattr(module, attr, None)
    if not callable(fn):
        found = "does not define" if fn is None else "has a non-callable"
        raise ConfigError(
            f"python check {target!r}: module {module_name!r} ({getattr(module, '__file__', '')})"
            f" {found} {attr!r}. Name a function of it: 'package.module:function'."
        )
    function: Callable[..., Any] = fn
    return function
