"""Deterministically generated malformed cassettes, one list per class of the issue (issue 14).

:func:`good_envelope` is a small cassette that replays (tools, a recorded error, a JSON
response, an SSE stream, a binary body); every mutant breaks it in one way. No randomness
beyond a seeded generator, so a failure names a mutant that can be reproduced.
"""

from __future__ import annotations

import base64
import copy
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

URL = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Mutant:
    id: str
    suffix: str  # ".json" or ".yaml"
    content: bytes


def good_envelope() -> dict[str, Any]:
    body = {"text": json.dumps({"q": 1})}
    sse = [{"t": 0.0, "text": 'data: {"d": "he'}, {"t": 0.01, "text": 'llo"}\n\n'}]
    error = {"type": "ValueError", "module": "builtins", "message": "('boom', 3)",
             "args": ["boom", 3]}  # fmt: skip
    events = [
        {"seq": 0, "kind": "tool_call", "name": "mut_lookup", "t_start": 0.0, "t_end": 0.1,
         "data": {"args": {"i": 1}, "result": {"id": 1, "tags": ["a", "b"]}}, "call_id": "call_1"},
        {"seq": 1, "kind": "tool_call", "name": "mut_fail", "t_start": 0.1, "t_end": 0.2,
         "data": {"args": {}, "error": error}, "call_id": "call_2"},
        {"seq": 2, "kind": "decision", "name": "route", "t_start": 0.2, "t_end": 0.2,
         "data": {"choice": "reply"}},
    ]  # fmt: skip
    http = [
        _interaction("POST", "/v1/x", body, {"text": '{"ok": true}'}),
        _interaction("GET", "/sse", None, None, chunks=sse),
        _interaction("GET", "/bin", None, {"base64": base64.b64encode(b"\xff\x00\x01").decode()}),
    ]
    run = {
        "case": {"id": "mut", "input": {"q": "hello"}},
        "variant": {"name": "v", "model": "m1", "prompt": None, "params": {},
                    "prompt_hash": None, "tools_hash": None},
        "epoch": 0,
        "manifest": {"run_id": "0" * 32, "started_at": "2026-11-30T00:00:00.000Z"},
        "events": events,
        "http": http,
        "output": ["done"],
        "status": "complete",
        "error": None,
        "metrics": {"tool_calls": 2},
        "extra": {},
    }  # fmt: skip
    return {"format": "pytest-opsladder/cassette", "schema_version": 1, "run": run}


def _interaction(
    method: str, path: str, req: Any, resp: Any, chunks: list[Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {"status": 200, "reason": "OK", "headers": {}}
    if chunks is not None:
        response["headers"] = {"content-type": ["text/event-stream"]}
        response["chunks"] = chunks
    else:
        response["body"] = resp
    request = {"method": method, "url": URL + path, "headers": {}, "body": req}
    return {"request": request, "response": response, "transport": "httpx", "elapsed": 0.01}


def dump(envelope: Any) -> bytes:
    return json.dumps(envelope, allow_nan=True).encode("utf-8")


# -- structural: every node replaced by a value of each wrong type, every key removed ---------
WRONG: list[Any] = [None, True, -1, 1.5, "x", [], {}, [1, "a"], {"k": {}}]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*at, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*at, i))


def _set(envelope: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    out = copy.deepcopy(envelope)
    node = out
    for step in path[:-1]:
        node = node[step]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def structural(limit: int) -> list[Mutant]:
    good = good_envelope()
    out = []
    for path in list(_paths(good))[1:]:
        name = ".".join(map(str, path))
        if isinstance(path[-1], str):
            out.append(Mutant(f"del:{name}", ".json", dump(_set(good, path, None, delete=True))))
        for i, wrong in enumerate(WRONG):
            out.append(Mutant(f"set{i}:{name}", ".json", dump(_set(good, path, wrong))))
    random.Random(14).shuffle(out)
    return out[:limit]


def envelope_level() -> list[Mutant]:
    good = good_envelope()
    out = [
        Mutant(f"version:{v!r}", ".json", dump({**good, "schema_version": v}))
        for v in (True, False, 1.0, "1", None, 2, 0, -1, [1], {"v": 1}, 10**30)
    ]
    out += [
        Mutant("no-format", ".json", dump({k: v for k, v in good.items() if k != "format"})),
        Mutant("no-run", ".json", dump({k: v for k, v in good.items() if k != "run"})),
        Mutant("format-other", ".json", dump({**good, "format": "vcr"})),
    ]
    out += [Mutant(f"top:{t!r}", ".json", dump(t)) for t in ([], "s", 3, None, [good])]
    return out


def byte_level() -> list[Mutant]:
    raw = dump(good_envelope())
    rng = random.Random(1414)
    out = [Mutant(f"truncate:{f}", ".json", raw[: len(raw) * f // 20]) for f in range(1, 20)]
    for i in range(20):
        flipped = bytearray(raw)
        for _ in range(3):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        out.append(Mutant(f"flip:{i}", ".json", bytes(flipped)))
    out += [
        Mutant("empty", ".json", b""),
        Mutant("blank", ".json", b"  \n"),
        Mutant("bom", ".json", b"\xef\xbb\xbf" + raw),
        Mutant("latin1", ".json", raw.replace(b'"hello"', b'"h\xe9llo"')),
        Mutant("nul", ".json", raw.replace(b'"done"', b'"do\x00ne"')),
        Mutant("pickle", ".json", b"\x80\x04\x95" + raw),
        Mutant("yaml-as-json", ".json", b"format: x\n"),
    ]
    return out


def bounds() -> list[Mutant]:
    good = good_envelope()
    text = dump(good).decode()
    deep = text.replace('["done"]', "[" * 100_000 + "]" * 100_000)
    huge = text.replace('"epoch": 0', '"epoch": ' + "9" * 5000)
    nested: Any = "x"
    for _ in range(80):
        nested = {"n": nested}
    return [
        Mutant("deep-100000", ".json", deep.encode()),
        Mutant("deep-80", ".json", dump(_set(good, ("run", "output"), nested))),
        Mutant("deep-80-data", ".json", dump(_set(good, ("run", "events", 2, "data"), nested))),
        Mutant("int-5000-digits", ".json", huge.encode()),
        Mutant("nan", ".json", dump(_set(good, ("run", "output"), float("nan")))),
        Mutant("inf-time", ".json", dump(_set(good, ("run", "events", 0, "t_end"), 1e400))),
        Mutant("neg-inf", ".json", dump(_set(good, ("run", "metrics", "x"), float("-inf")))),
    ]  # fmt: skip


def yaml_level() -> list[Mutant]:
    import yaml

    text = yaml.safe_dump(good_envelope(), sort_keys=True)
    repl = text.replace
    laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
        f"*a{i - 1}, *a{i - 1}, *a{i - 1}]\n"
        for i in range(1, 9)
    )
    cases = {
        "timestamp": repl("- done", "- 2026-11-30 10:00:00"),
        "date": repl("- done", "- 2026-11-30"),
        "recursive-alias": repl("  output:\n  - done", "  output: &o\n  - *o"),
        "recursive-map": repl("  extra: {}", "  extra: &e\n    self: *e"),
        "laughs": laughs + text.replace("  output:\n  - done", "  output: *a8"),
        "binary": repl("- done", "- !!binary aGVsbG8="),
        "set": repl("  extra: {}", "  extra: !!set {a, b}"),
        "python-tag": repl("- done", "- !!python/object/apply:os.system ['echo hi']"),
        "int-key": repl("  extra: {}", "  extra: {1: a}"),
        "null-key": repl("  extra: {}", "  extra: {null: a}"),
        "tuple-key": repl("  extra: {}", "  extra: {? [a, b] : c}"),
        "yaml-nan": repl("- done", "- .nan"),
        "bad-indent": repl("  status: complete", " status: complete"),
        "version-float": repl("schema_version: 1", "schema_version: 1.0"),
        "version-bool": repl("schema_version: 1", "schema_version: true"),
        "version-str": repl("schema_version: 1", "schema_version: '1'"),
        "big-int": repl("epoch: 0", "epoch: " + "9" * 5000),
        "deep-flow": repl("- done", "- " + "[" * 5000 + "]" * 5000),
        "tab": repl("  status: complete", "\tstatus: complete"),
        "merge": repl("  extra: {}", "  extra: {<<: {a: 1}}"),
        "unicode-escape": repl("- done", '- "\\udc80"'),
    }
    return [Mutant(f"yaml:{k}", ".yaml", v.encode()) for k, v in cases.items()]


def replay_level() -> list[Mutant]:
    """Valid in form, inconsistent in content: replay must raise a named error."""
    good = good_envelope()
    err = ("run", "events", 1, "data", "error")
    resp = ("run", "http", 0, "response")
    edits: dict[str, tuple[tuple[Any, ...], Any]] = {
        "error-str": (err, "boom"),
        "error-list": (err, ["ValueError"]),
        "error-no-type": (err, {"message": "x"}),
        "error-type-int": (err, {"type": 3}),
        "error-custom": (err, {"type": "Nope", "module": "my.mod", "message": "x"}),
        "error-systemexit": (err, {"type": "SystemExit", "module": "builtins", "args": [1]}),
        "error-args-str": (err, {"type": "KeyError", "module": "builtins", "args": "k"}),
        "error-args-dict": (err, {"type": "OSError", "module": "builtins", "args": [{"a": 1}]}),
        "error-bad-bytes": (err, {"type": "UnicodeDecodeError", "module": "builtins",
                                  "args": ["utf-8", {"__bytes_b64__": "@@"}, 0, 1, "x"]}),
        "error-ude-few": (err, {"type": "UnicodeDecodeError", "module": "builtins", "args": []}),
        "error-group-empty": (err, {"type": "ExceptionGroup", "module": "builtins",
                                    "exceptions": []}),
        "error-group-junk": (err, {"type": "ExceptionGroup", "module": "builtins",
                                   "group_message": "g", "exceptions": ["x", 1]}),
        "error-oldkey": (err, {"type": "KeyError", "module": "builtins", "message": "no quote"}),
        "error-base": (err, {"type": "BaseException", "module": "builtins", "message": "x"}),
        "args-mismatch": (("run", "events", 0, "data", "args"), {"i": 2}),
        "no-args": (("run", "events", 0, "data"), {"result": 1}),
        "bad-base64": (("run", "http", 2, "response", "body"), {"base64": "@@not base64@@"}),
        "bad-chunk-b64": (("run", "http", 1, "response", "chunks", 0), {"base64": "%%%"}),
        "gzip-header": ((*resp, "headers"), {"content-encoding": ["gzip"]}),
        "br-header": ((*resp, "headers"), {"content-encoding": ["deflate"]}),
        "status-999": ((*resp, "status"), 999),
        "reason-unicode": ((*resp, "reason"), "d\u00e9j\u00e0 \udc80"),
        "url-junk": (("run", "http", 0, "request", "url"), "::not a url::"),
        "method-empty": (("run", "http", 0, "request", "method"), ""),
        "http-empty": (("run", "http"), []),
        "body-json-key": (("run", "http", 0, "response", "body"), {"json": {"ok": True}}),
        "chunk-huge-t": (("run", "http", 1, "response", "chunks", 0, "t"), 1e12),
        "events-empty": (("run", "events"), []),
        "status-error": (("run", "status"), "error"),
    }  # fmt: skip
    return [Mutant(f"replay:{k}", ".json", dump(_set(good, p, v))) for k, (p, v) in edits.items()]


_BODY = ("run", "http", 0, "response", "body")
_TOOL_DATA = ("run", "events", 0, "data")
# Hand edits the code would misread if the schema let them in (a field of the wrong type, a
# body or chunk with no data, a tool call with no result): id -> (place, value, JSON path named)
HAND_EDITS: dict[str, tuple[tuple[Any, ...], Any, str]] = {
    "packages-str": (("run", "manifest", "packages"), "x", "$.run.manifest.packages"),
    "packages-list": (("run", "manifest", "packages"), ["openai"], "$.run.manifest.packages"),
    "package-version-int": (("run", "manifest", "packages"), {"openai": 1},
                            "$.run.manifest.packages.openai"),
    "duration-str": (("run", "manifest", "duration_s"), "slow", "$.run.manifest.duration_s"),
    "git-str": (("run", "manifest", "git"), "abc", "$.run.manifest.git"),
    "git-dirty-str": (("run", "manifest", "git"), {"commit": None, "dirty": "yes"},
                      "$.run.manifest.git.dirty"),
    "test-outcome-str": (("run", "extra", "test_outcome"), "passed", "$.run.extra.test_outcome"),
    "test-outcome-unknown": (("run", "extra", "test_outcome"), {"outcome": "ok"},
                             "$.run.extra.test_outcome.outcome"),
    "body-only-t": (_BODY, {"t": 1.0}, "$.run.http[0].response.body"),
    "body-only-format": (_BODY, {"json_format": "compact"}, "$.run.http[0].response.body"),
    "body-text-and-base64": (_BODY, {"text": "a", "base64": "YQ=="}, "$.run.http[0].response.body"),
    "body-format-unknown": (_BODY, {"json": {"ok": True}, "json_format": "weird"},
                            "$.run.http[0].response.body.json_format"),
    "chunk-only-t": (("run", "http", 1, "response", "chunks", 0), {"t": 0.0},
                     "$.run.http[1].response.chunks[0]"),
    "tool-no-result": (_TOOL_DATA, {"args": {"i": 1}}, "$.run.events[0].data"),
    "tool-result-and-error": (_TOOL_DATA, {"args": {"i": 1}, "result": 1, "error": {"type": "E"}},
                              "$.run.events[0].data"),
    "tool-no-args": (_TOOL_DATA, {"result": 1}, "$.run.events[0].data"),
    "tool-data-null": (_TOOL_DATA, None, "$.run.events[0].data"),
}  # fmt: skip


def hand_edited(name: str) -> bytes:
    where, value, _ = HAND_EDITS[name]
    return dump(_set(good_envelope(), where, value))


def hand_edits() -> list[Mutant]:
    return [Mutant(f"hand:{name}", ".json", hand_edited(name)) for name in HAND_EDITS]


def all_mutants() -> list[Mutant]:
    return [
        *structural(240),
        *envelope_level(),
        *byte_level(),
        *bounds(),
        *yaml_level(),
        *replay_level(),
        *hand_edits(),
    ]
