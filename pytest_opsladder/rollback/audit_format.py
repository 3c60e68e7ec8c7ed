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
from dataclasses import dataclass
from typing import Any

GENESIS_PREV = "0" * 64
_HEAD = b'{"hash":"'
_BODY_AT = len(_HEAD) + 64 + 2  # '{"hash":"' + 64 hex + '",'
_PREV = b',"prev":"'
_SEQ = b'","seq":'
_TS = b',"ts":"'


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
    if not seq_text.isdigit():
        return Parsed(problem=f"seq {seq_text[:20]!r} is not a number")
    prev = raw[at + len(_PREV) : seq_at].decode("ascii", "replace")
    found = hashlib.sha256(b"{" + raw[_BODY_AT:]).hexdigest()
    problem = "" if found.encode() == digest else "the entry's hash does not match its content"
    return Parsed(int(seq_text), prev, digest.decode("ascii", "replace"), problem)


def decode(raw: bytes) -> dict[str, Any]:
    """The full entry, for readers (verification never needs this)."""
    entry: dict[str, Any] = json.loads(raw)
    return entry
