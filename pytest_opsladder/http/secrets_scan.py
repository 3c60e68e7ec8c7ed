"""A credential scanner over recorded interactions: refuse to write one (ladder level 0).

Scrubbing handles the places credentials are expected (headers, query). This catches the rest:
a key echoed in a response, a token in a request body, a private key in a tool result. Each
finding names the interaction and the JSON path inside it, so the fix is obvious; strings that
only look like credentials are allowed with ``opsladder_config['secrets_allow']``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pytest_opsladder.http.bodies import decode_body
from pytest_opsladder.http.canonical import _NOT_JSON, parse_json
from pytest_opsladder.http.paths import format_path

PATTERNS: dict[str, re.Pattern[str]] = {
    "Anthropic API key": re.compile(r"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_\-]{20,}"),
    "OpenAI API key": re.compile(
        r"(?<![A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"
    ),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    "Stripe secret key": re.compile(r"\b[rs]k_live_[A-Za-z0-9]{20,}"),
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}"),
    "JSON Web Token": re.compile(
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    ),
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "bearer token": re.compile(r"\bBearer\s+[A-Za-z0-9_\-.=]{20,}"),
}


@dataclass(frozen=True)
class Finding:
    """A credential found at ``path`` of interaction ``index``."""

    index: int
    path: str
    kind: str
    sample: str  # the first characters only: the report itself must not leak the secret


def scan(http: list[dict[str, Any]], allow: tuple[re.Pattern[str], ...] = ()) -> list[Finding]:
    """Every credential in ``http`` that no allow pattern covers."""
    found: list[Finding] = []
    for index, item in enumerate(http):
        for path, text in _strings(item, ["http", index]):
            found += _check(index, path, text, allow)
    return found


def _check(index: int, path: str, text: str, allow: tuple[re.Pattern[str], ...]) -> list[Finding]:
    out = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            value = match.group(0)
            if not any(a.search(value) for a in allow):
                out.append(Finding(index, path, kind, value[:8] + "..."))
    return out


def _strings(value: Any, steps: list[str | int]) -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` with its JSON path; bodies are opened up as JSON."""
    if isinstance(value, dict):
        if _is_body(value):
            yield from _body_strings(value, steps)
            return
        for key, item in value.items():
            yield from _strings(item, [*steps, key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, [*steps, i])
    elif isinstance(value, str):
        yield format_path(steps), value


def _is_body(value: dict[str, Any]) -> bool:
    return ("text" in value or "base64" in value) and set(value) <= {"text", "base64", "t"}


def _body_strings(body: dict[str, Any], steps: list[str | int]) -> Iterator[tuple[str, str]]:
    raw = decode_body(body)
    data = parse_json(raw)
    key = "text" if "text" in body else "base64"
    if data is _NOT_JSON:
        yield format_path([*steps, key]), raw.decode("utf-8", "replace")
    else:
        yield from _strings(data, [*steps, key])
