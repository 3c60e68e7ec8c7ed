"""The published JSON Schema of a cassette, and the validator every load goes through (level 0).

:data:`SCHEMA` is the contract: it is shipped as ``cassette.schema.json`` in this package and as
``docs/cassette-schema.json``. :func:`validate` checks a parsed envelope against it with a small
interpreter of the keywords the schema uses (type, enum, const, properties, required,
additionalProperties, items, minimum, anyOf, oneOf, if/then, ``$ref``), so the one schema
is the one truth; the test suite checks it agrees with ``jsonschema``, the reference validator.
Every problem is a :class:`~pytest_opsladder.exceptions.CassetteFormatError` naming the file,
the JSON path and what was expected. Free-form parts (tool arguments, outputs, event data) must
still be JSON: YAML timestamps, binary, sets and aliases that loop are refused there too, and
nesting depth and sizes are bounded, so a hostile file cannot exhaust the stack or memory.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pytest_opsladder.exceptions import CassetteFormatError
from pytest_opsladder.http.failures import KINDS as TRANSPORT_ERROR_KINDS

MAX_DEPTH = 64  # nesting of any value; real runs stay under 20
MAX_STRING = 64 * 1024 * 1024
MAX_ITEMS = 1_000_000
MAX_BYTES = 512 * 1024 * 1024  # a whole cassette file
MAX_NODES = 2_000_000  # values visited: YAML aliases can make a small file a huge tree

# The styles a structured JSON body is written back in (layout.BODY_FORMATS, which imports this)
JSON_FORMATS = ("compact", "compact_ascii", "spaced", "spaced_ascii", "indent2", "indent2_ascii")
_ANY: dict[str, Any] = {"$ref": "#/$defs/json"}
_STR_LIST = {"type": "array", "items": {"type": "string"}}
_HEADERS = {"type": "object", "additionalProperties": _STR_LIST}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://pytest-opsladder.dev/schemas/cassette-1.json",
    "title": "pytest-opsladder cassette (schema_version 1)",
    "type": "object",
    "required": ["format", "schema_version", "run"],
    "properties": {
        "format": {"const": "pytest-opsladder/cassette"},
        "schema_version": {"type": "integer", "const": 1},
        "run": {"$ref": "#/$defs/run"},
    },
    "additionalProperties": True,
    "$defs": {
        "json": {
            "description": "any JSON value (strings, numbers, booleans, null, arrays, objects)"
        },
        "run": {
            "type": "object",
            "required": ["case", "variant", "manifest", "status"],
            "properties": {
                "case": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "string"}, "input": _ANY},
                },
                "variant": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "model": {"type": ["string", "null"]},
                        "prompt": {"type": ["string", "null"]},
                        "params": {"type": ["object", "null"]},
                        "prompt_hash": {"type": ["string", "null"]},
                        "tools_hash": {"type": ["string", "null"]},
                    },
                },
                "epoch": {"type": "integer", "minimum": 0},
                "manifest": {
                    "type": "object",
                    "required": ["run_id"],
                    "properties": {
                        "run_id": {"type": "string"},
                        "schema_version": {"type": "integer"},
                        "started_at": {"type": "string"},
                        "ended_at": {"type": ["string", "null"]},
                        "duration_s": {"type": ["number", "null"]},
                        "python": {"type": "string"},
                        "packages": {"type": "object", "additionalProperties": {"type": "string"}},
                        "git": {
                            "type": ["object", "null"],
                            "properties": {
                                "commit": {"type": ["string", "null"]},
                                "dirty": {"type": ["boolean", "null"]},
                            },
                        },
                        "request_model": {"type": ["string", "null"]},
                        "response_model": {"type": ["string", "null"]},
                    },
                },
                "events": {"type": "array", "items": {"$ref": "#/$defs/event"}},
                "http": {"type": ["array", "null"], "items": {"$ref": "#/$defs/interaction"}},
                "output": _ANY,
                "status": {"enum": ["complete", "error", "incomplete"]},
                "error": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/error"}]},
                "metrics": {"type": ["object", "null"]},
                "extra": {
                    "type": ["object", "null"],
                    "properties": {"test_outcome": {"$ref": "#/$defs/test_outcome"}},
                },
            },
        },
        "test_outcome": {
            "description": "what the user's test said about the run (read by the baseline and "
            "shadow verdicts)",
            "type": ["object", "null"],
            "properties": {
                "outcome": {"enum": ["passed", "failed", "error", "skipped"]},
                "message": {"type": ["string", "null"]},
                "phase": {"type": "string"},
            },
        },
        "event": {
            "type": "object",
            "required": ["seq", "kind"],
            "properties": {
                "seq": {"type": "integer"},
                "kind": {"type": "string"},
                "name": {"type": "string"},
                "t_start": {"type": "number"},
                "t_end": {"type": "number"},
                "data": {"type": ["object", "null"]},
                "call_id": {"type": ["string", "null"]},
            },
            "if": {"properties": {"kind": {"const": "tool_call"}}},
            "then": {"required": ["data"], "properties": {"data": {"$ref": "#/$defs/tool_data"}}},
        },
        "tool_data": {
            "description": "a tool call: its arguments, and exactly one of its result or the "
            "error it raised",
            "type": "object",
            "required": ["args"],
            "oneOf": [{"required": ["result"]}, {"required": ["error"]}],
        },
        "error": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string"},
                "module": {"type": "string"},
                "message": {"type": "string"},
                "traceback": {"type": "string"},
            },
        },
        "body": {
            "description": "exactly one of text (UTF-8), base64 (other bytes), or json (a "
            "structured JSON body, stored as its value for readable diffs)",
            "type": "object",
            "properties": {
                "text": {"type": "string"},
                "base64": {"type": "string"},
                "json": _ANY,
                "json_format": {"enum": list(JSON_FORMATS)},
                "t": {"type": "number"},
            },
            "additionalProperties": False,
            "oneOf": [{"required": ["text"]}, {"required": ["base64"]}, {"required": ["json"]}],
        },
        "interaction": {
            "description": "one HTTP request with the response it got, or with the transport "
            "error it failed with (refused, unresolved, timed out, reset); both only for a "
            "body cut mid-way: the response that arrived, marked partial, and the error",
            "type": "object",
            "required": ["request"],
            "oneOf": [
                {
                    "description": "a 'response' (whole: no 'partial', no 'error')",
                    "required": ["response"],
                    "properties": {"error": False, "response": {"properties": {"partial": False}}},
                },
                {
                    "description": "an 'error' (with a 'response' only if it is marked "
                    "'partial': true)",
                    "required": ["error"],
                    "properties": {"response": {"required": ["partial"]}},
                },
            ],
            "properties": {
                "request": {
                    "type": "object",
                    "required": ["method", "url"],
                    "properties": {
                        "method": {"type": "string"},
                        "url": {"type": "string"},
                        "headers": _HEADERS,
                        "body": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/body"}]},
                    },
                },
                "response": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "status": {"type": "integer", "minimum": 100},
                        "reason": {"type": ["string", "null"]},
                        "headers": _HEADERS,
                        "body": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/body"}]},
                        "chunks": {"type": "array", "items": {"$ref": "#/$defs/body"}},
                        "closed_early": {"type": "boolean"},
                        "partial": {"const": True},
                    },
                },
                "error": {"$ref": "#/$defs/transport_error"},
                "transport": {"type": "string"},
                "elapsed": {"type": "number"},
            },
        },
        "transport_error": {
            "description": "a request that got no response, or whose body was cut mid-way "
            "(incomplete_body, reset, read_timeout): kind is library-neutral, class "
            "and message what the recording client raised (replay raises the replaying "
            "client's own error for the kind)",
            "type": "object",
            "required": ["version", "kind", "class", "message"],
            "properties": {
                "version": {"type": "integer", "const": 1},
                "kind": {"enum": list(TRANSPORT_ERROR_KINDS)},
                "class": {"type": "string"},
                "message": {"type": "string"},
            },
            "additionalProperties": False,
        },
    },
}

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
_NAMES = {dict: "an object", list: "an array", str: "a string", int: "an integer",
          float: "a number", bool: "a boolean", type(None): "null"}  # fmt: skip


def validate(envelope: Any, path: Path) -> None:
    """Raise :class:`CassetteFormatError` at the first place ``envelope`` breaks the schema."""
    checker = _Checker(path)
    if path.suffix in (".yaml", ".yml"):  # aliases share nodes: size the tree they stand for
        checker.expanded(envelope, {}, set(), "$", 0)
    else:
        fast = _Fast()
        if fast.valid(envelope, SCHEMA, 0) and fast.nodes <= MAX_NODES:
            return  # the common case: the same rules, without building a path for every value
    checker.check(envelope, SCHEMA, "$", 0)


class _Fast:
    """The rules of :class:`_Checker` as a yes/no answer, without JSON paths (most of the
    cost of a walk that finds nothing). No means "run the checker", which names the place;
    it never means the cassette is valid, so a difference between the two can only cost time.
    """

    def __init__(self) -> None:
        self.nodes = 0

    def valid(self, value: Any, schema: dict[str, Any], depth: int) -> bool:
        if depth > MAX_DEPTH:
            return False
        self.nodes += 1
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name == "json":
                return self.json_value(value, depth)
            schema = SCHEMA["$defs"][name]
        if "anyOf" in schema:
            return any(self.valid(value, option, depth) for option in schema["anyOf"])
        if not self.scalar(value, schema) or not _Probe.combined(value, schema, depth):
            return False
        if isinstance(value, dict):  # a subclass too: as _Checker, never skipped
            return self.mapping(value, schema, depth)
        if isinstance(value, list) and "items" in schema:
            items = schema["items"]
            return all(self.valid(item, items, depth + 1) for item in value)
        return self.nodes <= MAX_NODES

    def scalar(self, value: Any, schema: dict[str, Any]) -> bool:
        kind = schema.get("type")
        if kind is not None and not _is_type(value, kind):
            return False
        if "const" in schema and not _same(value, schema["const"]):
            return False
        if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
            return False
        if "minimum" in schema and isinstance(value, int | float) and value < schema["minimum"]:
            return False
        return _within_bounds(value)

    def mapping(self, value: dict[Any, Any], schema: dict[str, Any], depth: int) -> bool:
        if any(key not in value for key in schema.get("required", ())):
            return False
        if len(value) < schema.get("minProperties", 0):
            return False
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", _ANY)
        for key, item in value.items():
            sub = props.get(key, extra) if type(key) is str else False
            if sub is False or not self.valid(item, _ANY if sub is True else sub, depth + 1):
                return False
        return True

    def json_value(self, value: Any, depth: int) -> bool:
        """Any JSON value within the bounds, iteratively (as :meth:`_Checker.json_value`)."""
        stack = [(value, depth)]
        while stack:
            item, level = stack.pop()
            self.nodes += 1
            kind = type(item)
            if level > MAX_DEPTH or self.nodes > MAX_NODES:
                return False
            if kind is str:
                if len(item) > MAX_STRING:
                    return False
            elif kind is dict:
                if len(item) > MAX_ITEMS or any(type(k) is not str for k in item):
                    return False
                stack.extend((sub, level + 1) for sub in item.values())
            elif kind is list:
                if len(item) > MAX_ITEMS:
                    return False
                stack.extend((sub, level + 1) for sub in item)
            elif kind is float:
                if not math.isfinite(item):
                    return False
            elif not (kind is int or kind is bool or item is None):
                return False
        return True


class _Probe(_Fast):
    """Whether a value the walk checks anyway also holds a oneOf option or an if/then branch:
    free-form parts are not walked again (the rules on them are the walk's), so a branch costs
    what its own keys cost, never a second walk of the tool results below them."""

    def valid(self, value: Any, schema: dict[str, Any], depth: int) -> bool:
        self.nodes = 0  # the walk counts the values; a probe never fails on their number
        if schema is False:  # type: ignore[comparison-overlap]  # a key an option forbids
            return False
        return schema is _ANY or super().valid(value, schema, depth)

    def json_value(self, value: Any, depth: int) -> bool:
        return True

    def mapping(self, value: dict[Any, Any], schema: dict[str, Any], depth: int) -> bool:
        if schema.get("additionalProperties", _ANY) is not _ANY:
            return super().mapping(value, schema, depth)
        if any(key not in value for key in schema.get("required", ())):
            return False
        props = schema.get("properties", {})  # a key not named can only be JSON: true here
        return all(self.valid(value[k], sub, depth + 1) for k, sub in props.items() if k in value)

    @staticmethod
    def combined(value: Any, schema: dict[str, Any], depth: int) -> bool:
        """The value holds the schema's oneOf (exactly one option) and if/then."""
        if "oneOf" in schema and _Probe.matches(value, schema["oneOf"], depth) != 1:
            return False
        if "if" in schema and _PROBE.valid(value, schema["if"], depth):
            return _PROBE.valid(value, schema["then"], depth)
        return True

    @staticmethod
    def matches(value: Any, options: list[dict[str, Any]], depth: int) -> int:
        return sum(_PROBE.valid(value, option, depth) for option in options)


_PROBE = _Probe()  # no state a probe's answer depends on: its node count is reset per value


def _within_bounds(value: Any) -> bool:
    """A string, list or object not too long, a float finite (:meth:`_Checker.bounded` says
    which, where)."""
    if isinstance(value, str):
        return len(value) <= MAX_STRING
    if isinstance(value, list | dict):
        return len(value) <= MAX_ITEMS
    if isinstance(value, float):
        return math.isfinite(value)
    return True


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.nodes = 0

    def count(self, where: str) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(where, f"at most {MAX_NODES} values in all", Said("more (aliases?)"))

    def fail(self, where: str, expected: str, found: Any) -> CassetteFormatError:
        return CassetteFormatError(
            f"{self.path}: at {where}: expected {expected}, found {_describe(found)}. The "
            "cassette does not match the published schema (docs/cassette-schema.md); restore "
            "it from version control or re-record the run "
            "(pytest --opsladder-mode=record --opsladder-record-mode=rewrite -k <test>).",
            path=self.path,
            json_path=where,
            expected=expected,
        )

    def expanded(
        self, value: Any, memo: dict[int, int], active: set[int], where: str, depth: int
    ) -> int:
        """The number of values ``value`` stands for once YAML aliases are expanded, computed
        once per shared node (a "billion laughs" file is refused in linear time)."""
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key in memo:
            return memo[key]
        if key in active:
            raise self.fail(where, "a tree of values", Said("a recursive YAML alias"))
        if depth > MAX_DEPTH:
            raise self.fail(where, f"nesting at most {MAX_DEPTH} deep", Said("deeper nesting"))
        active.add(key)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        total = 1
        for k, item in items:
            total += self.expanded(item, memo, active, f"{where}.{k}", depth + 1)
            if total > MAX_NODES:
                raise self.fail(where, f"at most {MAX_NODES} values", Said("more (YAML aliases)"))
        active.discard(key)
        memo[key] = total
        return total

    def check(self, value: Any, schema: dict[str, Any], where: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise self.fail(where, f"nesting at most {MAX_DEPTH} deep", Said("deeper nesting"))
        self.count(where)
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name == "json":
                self.json_value(value, where, depth)
                return
            schema = SCHEMA["$defs"][name]
        if "anyOf" in schema:
            self.any_of(value, schema["anyOf"], where, depth)
            return
        self.scalar_rules(value, schema, where)
        self.combined(value, schema, where, depth)
        if isinstance(value, dict):
            self.mapping(value, schema, where, depth)
        elif isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self.check(item, schema["items"], f"{where}[{i}]", depth + 1)

    def any_of(self, value: Any, options: list[dict[str, Any]], where: str, depth: int) -> None:
        errors = []
        for option in options:
            try:
                self.check(value, option, where, depth)
                return
            except CassetteFormatError as exc:
                errors.append((len(exc.json_path), _type_fits(value, option), exc))
        # the one that got furthest; at a tie, one whose type the value has (a body missing
        # its text is reported as that, not as "expected null")
        raise max(errors, key=lambda e: e[:2])[2]

    def combined(self, value: Any, schema: dict[str, Any], where: str, depth: int) -> None:
        """oneOf: exactly one option holds; if/then: when ``if`` holds, ``then`` is checked."""
        options = schema.get("oneOf")
        if options is not None and _Probe.matches(value, options, depth) != 1:
            raise self.fail(where, _one_of_expected(options), value)
        if "if" not in schema or not _PROBE.valid(value, schema["if"], depth):
            return
        if not _PROBE.valid(value, schema["then"], depth):  # the walk checks the rest once
            self.check(value, schema["then"], where, depth)  # raises, naming the place

    def scalar_rules(self, value: Any, schema: dict[str, Any], where: str) -> None:
        kind = schema.get("type")
        if kind is not None and not _is_type(value, kind):
            kinds = [kind] if isinstance(kind, str) else kind
            raise self.fail(where, " or ".join(f"{_NAMES[_TYPES[k][0]]}" for k in kinds), value)
        if "const" in schema and not _same(value, schema["const"]):
            raise self.fail(where, repr(schema["const"]), value)
        if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
            raise self.fail(where, "one of " + ", ".join(map(repr, schema["enum"])), value)
        if "minimum" in schema and isinstance(value, int | float) and value < schema["minimum"]:
            raise self.fail(where, f"a number >= {schema['minimum']}", value)
        self.bounded(value, where)

    def bounded(self, value: Any, where: str) -> None:
        if _within_bounds(value):
            return
        if isinstance(value, str):
            raise self.fail(where, f"at most {MAX_STRING} characters", Said("a longer string"))
        if isinstance(value, list | dict):
            raise self.fail(where, f"at most {MAX_ITEMS} items", Said(f"{len(value)} items"))
        raise self.fail(where, "a finite number (JSON has no NaN or Infinity)", value)

    def mapping(
        self, value: dict[Any, Any], schema: dict[str, Any], where: str, depth: int
    ) -> None:
        for key in schema.get("required", ()):
            if key not in value:
                raise self.fail(where, f"an object with the key {key!r}", value)
        if len(value) < schema.get("minProperties", 0):
            raise self.fail(where, f"at least {schema['minProperties']} key(s)", value)
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", _ANY)
        for key, item in value.items():
            if not isinstance(key, str):
                raise self.fail(f"{where}.{key!r}", "a string key", key)
            sub = props.get(key, extra)
            if sub is False:
                raise self.fail(f"{where}.{key}", "no such key: one of " + ", ".join(props), item)
            self.check(item, _ANY if sub is True else sub, f"{where}.{key}", depth + 1)

    def json_value(self, value: Any, where: str, depth: int) -> None:
        """Free-form data: any JSON value, iteratively (a deep value cannot blow the stack)."""
        stack = [(value, where, depth)]
        while stack:
            item, at, level = stack.pop()
            if level > MAX_DEPTH:
                raise self.fail(at, f"nesting at most {MAX_DEPTH} deep", Said("deeper nesting"))
            self.count(at)
            if isinstance(item, dict):
                for key, sub in item.items():
                    if not isinstance(key, str):
                        raise self.fail(at, "an object with string keys", key)
                    stack.append((sub, f"{at}.{key}", level + 1))
            elif isinstance(item, list):
                stack.extend((sub, f"{at}[{i}]", level + 1) for i, sub in enumerate(item))
            elif not isinstance(item, str | int | float | type(None)):
                raise self.fail(at, "a JSON value", item)
            self.bounded(item, at)


def _is_type(value: Any, kind: str | list[str]) -> bool:
    kinds = [kind] if isinstance(kind, str) else kind
    for name in kinds:
        if name in ("integer", "number") and isinstance(value, bool):
            continue  # JSON Schema: true is not 1
        if isinstance(value, _TYPES[name]):
            return True
    return False


def _type_fits(value: Any, schema: dict[str, Any]) -> bool:
    """``value`` has the type ``schema`` (or the definition it refers to) asks for."""
    if "$ref" in schema:
        schema = SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    kind = schema.get("type")
    return kind is None or _is_type(value, kind)


def _one_of_expected(options: list[dict[str, Any]]) -> str:
    """What a oneOf asks for, in words: ``exactly one of the keys 'text', 'base64', 'json'``."""
    if all("description" in option for option in options):
        return "one of: " + "; or ".join(str(option["description"]) for option in options)
    keys = [option.get("required", []) for option in options]
    if all(len(k) == 1 for k in keys):
        return "an object with exactly one of the keys " + ", ".join(repr(k[0]) for k in keys)
    return f"exactly one of {len(options)} alternatives"


def _same(value: Any, expected: Any) -> bool:
    return type(value) is type(expected) and value == expected


class Said(str):
    """A description of what was found, printed as it is (not as a value's repr)."""


def _describe(value: Any) -> str:
    if isinstance(value, Said):
        return str(value)
    kind = next((n for t, n in _NAMES.items() if type(value) is t), type(value).__name__)
    text = repr(value)
    return f"{kind} {text[:60] + '...' if len(text) > 60 else text}"


SCHEMA_FILE = Path(__file__).with_name("cassette.schema.json")


def published_schema() -> dict[str, Any]:
    """The schema file shipped in the package (kept identical to :data:`SCHEMA` by a test)."""
    import json

    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data
