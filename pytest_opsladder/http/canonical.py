"""The canonical form requests are matched on, provider-aware (ladder level 0: replay).

A request matches a recorded one on method, scheme, host, path, query and body. The port is
left out (loopback servers get a fresh port on every run) and so are headers (SDK versions,
retry counts and idempotency keys change on every call). JSON bodies are compared with sorted
keys after dropping the fields that change on every run without changing the answer: the
``user``/``metadata`` fields, tool-call ids, and ids and timestamps inside tool results.
Multipart bodies (file uploads, audio transcription) are compared part by part - name,
filename, content type, content - ignoring the random boundary; form bodies as key/value pairs
(see :mod:`.forms`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from pytest_opsladder._json import loads, loads_exact, may_round
from pytest_opsladder.http.forms import form_pairs, multipart_parts
from pytest_opsladder.http.paths import build_trie, parse_path, prune
from pytest_opsladder.http.scrub import scrub_url
from pytest_opsladder.observability.redaction import patterns_version

# Fields of request bodies that differ between runs of the same conversation (OpenAI chat and
# responses APIs, Anthropic messages API, and OpenAI-compatible servers).
VOLATILE_BODY_PATHS = (
    "$.user",
    "$.metadata",
    "$.safety_identifier",
    "$.previous_response_id",
    "$.messages[*].tool_calls[*].id",
    "$.messages[*].tool_call_id",
    "$.messages[*].content[*].id",
    "$.messages[*].content[*].tool_use_id",
    "$.input[*].call_id",
    "$.input[*].id",
)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TOOL_RESULT_TYPES = ("tool_result", "function_call_output")


@dataclass(frozen=True, slots=True)
class Canonical:
    """A request reduced to what identifies it: ``key`` is what the index is built on."""

    method: str
    url: str  # scheme://host/path, no port
    query: tuple[tuple[str, str], ...]
    body: Any  # the normalised JSON value, or a digest of non-JSON bytes
    key: str

    def view(self) -> dict[str, Any]:
        """The JSON form shown in a miss: what a field-level diff is computed over."""
        return {
            "method": self.method,
            "url": self.url,
            "query": dict(self.query),
            "body": self.body,
        }


class Canonicalizer:
    """Turns requests into :class:`Canonical` forms under one set of ignore paths."""

    def __init__(self, ignore: Iterable[str] = ()) -> None:
        self.trie = _trie_of(tuple(ignore))

    def canonical(self, method: str, url: str, body: bytes | None) -> Canonical:
        base, query = _url_key(url, patterns_version())
        body = body or b""
        try:
            norm, dumped = self._keyed_body(body)
        except (_TooDeep, RecursionError):  # nested past 254 levels: keyed by its bytes
            norm = _bytes_form(body)
            dumped = _dump(norm)
        digest = hashlib.sha1(dumped, usedforsecurity=False).hexdigest()
        key = f"{method.upper()} {base}?{_dump(query).decode()} {digest}"
        return Canonical(method.upper(), base, query, norm, key)

    def _keyed_body(self, body: bytes) -> tuple[Any, bytes]:
        """The normal form of ``body`` and the bytes it is keyed on."""
        norm = self.normal_body(body)
        # orjson would write NaN/Infinity as null: json keys a body that holds them (decided on
        # the normal form, so a pruned field or a string that spells "NaN" changes nothing)
        exact = (b"NaN" in body or b"Infinity" in body) and _has_nonfinite(norm)
        dumped = _dump(norm, exact)
        if b"e+" in dumped and may_round(body):  # orjson read an integer past 64 bits as a float
            norm = self.normal_body(body, exact_ints=True)
            dumped = _dump(norm, exact)
        return norm, dumped

    def normal_body(self, body: bytes, *, exact_ints: bool = False) -> Any:
        data = parse_json(body, exact_ints=exact_ints)
        if data is not _NOT_JSON:
            pruned = prune(data, self.trie)
            return _mask_tool_results(pruned) if _may_hold_tool_results(body) else pruned
        parts = multipart_parts(body)
        if parts is not None:  # file uploads: the client's random boundary is not content
            return {"multipart": parts}
        form = form_pairs(body)
        if form is not None:
            return {"form": form}
        return _bytes_form(body)


def _bytes_form(body: bytes) -> str | None:
    """What a body that is not read as JSON, a form or multipart is compared by."""
    digest = hashlib.sha1(body, usedforsecurity=False).hexdigest()
    return f"<{len(body)} bytes sha1:{digest[:16]}>" if body else None


class _TooDeep(Exception):
    """A normal form nested past what orjson writes (254 levels): the same for every stack,
    so a body is keyed alike when the index is built and when the agent sends it."""


_NOT_JSON: Any = object()


@functools.lru_cache(maxsize=256)
def _trie_of(ignore: tuple[str, ...]) -> Any:
    """The ignore paths' trie, built once per set of paths (every run's store needs one)."""
    return build_trie([parse_path(p) for p in (*VOLATILE_BODY_PATHS, *ignore)])


def url_base(url: str) -> str:
    """``scheme://host/path`` of ``url``, the port left out (what a request is named by)."""
    return _url_key(url, patterns_version())[0]


@functools.lru_cache(maxsize=1024)
def _url_key(url: str, _patterns: int) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``scheme://host/path`` (no port) and the sorted, scrubbed query of ``url``: an agent
    calls the same few URLs over and over (cached per version of the secret patterns, which
    the query is scrubbed with)."""
    parts = urlsplit(scrub_url(url))  # its path and query scrubbed as the cassette holds it
    host = (parts.hostname or "").lower()
    base = f"{parts.scheme.lower()}://{host}{parts.path or '/'}"
    return base, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def parse_json(body: bytes, *, exact_ints: bool = False) -> Any:
    """The JSON value of ``body``, or the ``_NOT_JSON`` sentinel. Integers past 64 bits are
    floats unless ``exact_ints`` (see :mod:`pytest_opsladder._json`): a float that large is
    written ``e+``, which is how :meth:`Canonicalizer.canonical` knows to read it again."""
    head = body[:1].lstrip() or body.lstrip()[:1]
    if head not in (b"{", b"["):
        return _NOT_JSON
    try:
        return loads_exact(body) if exact_ints else loads(body)
    except ValueError:  # not JSON, or nested too deep to read
        return _NOT_JSON


def _has_nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_nonfinite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nonfinite(v) for v in value)
    return False


def _dump(value: Any, exact: bool = False) -> bytes:
    """The bytes a canonical form is keyed on (in this process only: never stored). orjson,
    unless ``exact``: it cannot write NaN/Infinity (they become null) or integers past 64
    bits, which json can. Raises :class:`_TooDeep` past orjson's depth, whatever ``exact``."""
    try:
        dumped = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        if "Recursion" in str(exc):
            raise _TooDeep from None
        exact = True  # an integer past 64 bits
    if not exact:
        return dumped
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


_TOOL_MARKERS = (b'"tool"', *(f'"{t}"'.encode() for t in _TOOL_RESULT_TYPES), b"\\u")


def _may_hold_tool_results(body: bytes) -> bool:
    """Whether the body can hold a tool result at all: most requests (a first turn, any
    non-LLM call) hold none, and one scan of the bytes is far cheaper than walking the parsed
    body. A ``\\u`` escape could spell ``"tool"`` in disguise, so it takes the full walk."""
    return any(marker in body for marker in _TOOL_MARKERS)


def _mask_tool_results(data: Any) -> Any:
    """Replace timestamps and UUIDs inside tool results, which tools regenerate on every run."""
    if isinstance(data, dict):
        if data.get("role") == "tool" or data.get("type") in _TOOL_RESULT_TYPES:
            return _mask_strings(data)
        return {k: _mask_tool_results(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_mask_tool_results(v) for v in data]
    return data


def _mask_strings(data: Any) -> Any:
    if isinstance(data, str):
        return _UUID.sub("<uuid>", _TIMESTAMP.sub("<timestamp>", data))
    if isinstance(data, dict):
        return {k: _mask_strings(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_mask_strings(v) for v in data]
    return data
