"""The audit log's line format (ladder level 5): canonical JSON, hash-chained, sliceable.

An entry is ``{"hash", "payload", "prev", "seq", "ts"}`` in canonical JSON (sorted keys, no
spaces, UTF-8). ``hash`` is the sha256 of the same object without ``hash``; because ``hash``
sorts first, that body is the line minus its first 75 bytes, plus ``{``. Verification hashes
raw bytes and slices the chain fields out without parsing the payload, which is what makes it
fast; any byte changed anywhere in a line changes its hash.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

GENESIS_PREV = "0" * 64
_HEAD = b'{"hash":"'
_BODY_AT = len(_HEAD) + 64 + 2  # '{"hash":"' + 64 hex + '",'
_PREV = b',"prev":"'
_SEQ = b'","seq":'
_TS = b',"ts":"'


MAX_DEPTH = 64  # deeper payloads are refused: readers would hit recursion limits
MAX_SAFE_INT = 2**53 - 1  # I-JSON (RFC 7493): larger integers lose precision in JSON readers
_MAX_SEQ_DIGITS = 18


def payload_problem(payload: Any) -> str:
    """Why ``payload`` is not canonical JSON ("" when it is): what append refuses.

    Only values that serialise one way and read back equal are accepted: dicts with str keys,
    lists, tuples (stored as lists), str without lone surrogates, int within +-(2**53 - 1),
    finite floats, bool and None, nested at most MAX_DEPTH deep. Walked iteratively, so a
    pathologically deep or cyclic payload is refused rather than crashing the recursion.
    """
    stack: list[tuple[Any, int, str]] = [(payload, 0, "payload")]
    on_path: set[int] = set()
    while stack:
        value, depth, where = stack.pop()
        problem = _scalar_problem(value, where)
        if problem != "container":
            if problem:
                return problem
            continue
        if depth >= MAX_DEPTH or id(value) in on_path:
            return f"{where} nests deeper than {MAX_DEPTH} levels (or refers to itself)"
        on_path.add(id(value))
        stack.extend(_children(value, depth + 1, where))
    return ""


def _scalar_problem(value: Any, where: str) -> str:
    if isinstance(value, _NonStrKey):
        return f"{where} is not a string (JSON would silently turn it into one)"
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return _text_problem(value, where)
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            return f"{where} is an integer beyond +-(2**53 - 1); store it as a string"
        return ""
    if isinstance(value, float):
        return "" if math.isfinite(value) else f"{where} is {value!r} (not finite)"
    if isinstance(value, dict | list | tuple):
        return "container"
    return f"{where} is a {type(value).__name__}, which JSON has no type for"


def _text_problem(text: str, where: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return f"{where} holds a lone surrogate, which is not valid UTF-8"
    return ""


def _children(value: Any, depth: int, where: str) -> list[tuple[Any, int, str]]:
    if not isinstance(value, dict):
        return [(item, depth, f"{where}[{i}]") for i, item in enumerate(value)]
    out: list[tuple[Any, int, str]] = []
    for key, item in value.items():
        if not isinstance(key, str):
            out.append((_NonStrKey(key), depth, f"{where} key {key!r}"))
        else:
            out.append((key, depth, f"{where} key {key[:40]!r}"))
            out.append((item, depth, f"{where}[{key[:40]!r}]"))
    return out


class _NonStrKey:
    """Stands for a dict key JSON would silently turn into a string (and maybe a duplicate)."""

    def __init__(self, key: Any) -> None:
        self.key = key


def canonical(obj: Any) -> str:
    """The one serialisation of ``obj`` that is hashed (sorted keys, no spaces, no NaN)."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def make_line(seq: int, prev: str, ts: str, payload: Any) -> tuple[bytes, str]:
    """(line with newline, its hash) for a new entry."""
    body = canonical({"payload": payload, "prev": prev, "seq": seq, "ts": ts}).encode()
    digest = hashlib.sha256(body).hexdigest()
    return _HEAD + digest.encode() + b'",' + body[1:] + b"\n", digest


@dataclass(frozen=True)
class Parsed:
    """The chain fields of one line; ``problem`` says why it is not a valid entry."""

    seq: int = -1
    prev: str = ""
    hash: str = ""
    problem: str = ""


def parse_line(raw: bytes) -> Parsed:
    """Slice the chain fields out of a line (without its newline) and check its own hash."""
    if not raw.startswith(_HEAD) or raw[_BODY_AT - 2 : _BODY_AT] != b'",':
        return Parsed(problem="not an audit entry (it must start with the entry hash)")
    digest = raw[len(_HEAD) : _BODY_AT - 2]
    at = raw.rfind(_PREV)
    seq_at = at + len(_PREV) + 64
    ts_at = raw.find(_TS, seq_at)
    if at < 0 or raw[seq_at : seq_at + len(_SEQ)] != _SEQ or ts_at < 0:
        return Parsed(problem="not an audit entry (prev/seq/ts fields are missing or out of order)")
    seq_text = raw[seq_at + len(_SEQ) : ts_at]
    if not _is_seq(seq_text):
        return Parsed(
            problem=f"seq {seq_text[:20]!r} is not a canonical number of at most "
            f"{_MAX_SEQ_DIGITS} digits"
        )
    prev = raw[at + len(_PREV) : seq_at].decode("ascii", "replace")
    found = hashlib.sha256(b"{" + raw[_BODY_AT:]).hexdigest()
    problem = "" if found.encode() == digest else "the entry's hash does not match its content"
    return Parsed(int(seq_text), prev, digest.decode("ascii", "replace"), problem)


def _is_seq(text: bytes) -> bool:
    if not text.isdigit() or len(text) > _MAX_SEQ_DIGITS:
        return False
    return text == b"0" or not text.startswith(b"0")


def decode(raw: bytes) -> dict[str, Any] | None:
    """The full entry, for readers; None when the line is not a JSON object (never raises)."""
    try:
        entry = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the C stack
        return None
    return entry if isinstance(entry, dict) else None
