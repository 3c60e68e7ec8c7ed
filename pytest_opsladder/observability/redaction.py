"""Redaction before any sink (ladder level 3): one registry of secret patterns, used everywhere.

Every exporter of this package (JSON lines, metrics, OpenTelemetry, alert sinks, the logging
filter, stored idempotency errors) passes data through :func:`redact` first. Two rules:

- a mapping entry whose *key* names a secret (``password``, ``api_key``, ``authorization`` ...)
  and whose value is text has its whole value replaced, however deeply it is nested;
- any string (values, exception messages, log lines) has every match of a registered secret
  pattern replaced.

Add patterns with :func:`register_secret_pattern` and key names with
:func:`register_secret_key`; both registries are process-wide, like the event-kind registry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

MASK = "[REDACTED]"

_PATTERNS: dict[str, re.Pattern[str]] = {}
_KEY_WORDS: set[str] = set()
_KEY_RE: list[re.Pattern[str]] = []


def register_secret_pattern(name: str, regex: str | re.Pattern[str]) -> Callable[[], None]:
    """Redact every match of ``regex`` in strings; a group named ``secret`` limits the mask.

    Returns a function that removes the pattern again (tests use it to leave no trace).
    """
    compiled = re.compile(regex) if isinstance(regex, str) else regex
    _PATTERNS[name] = compiled

    def remove() -> None:
        if _PATTERNS.get(name) is compiled:
            del _PATTERNS[name]

    return remove


def register_secret_key(word: str) -> None:
    """Redact the value of any mapping key containing ``word`` (case and ``-``/``_`` ignored)."""
    _KEY_WORDS.add(_norm(word))
    _KEY_RE[:] = [re.compile("|".join(re.escape(w) for w in sorted(_KEY_WORDS)))]


def secret_patterns() -> dict[str, str]:
    return {name: p.pattern for name, p in _PATTERNS.items()}


def _norm(word: str) -> str:
    return word.lower().replace("-", "").replace("_", "")


def is_secret_key(key: str) -> bool:
    return bool(_KEY_RE) and _KEY_RE[0].search(_norm(key)) is not None


def redact_text(text: str) -> str:
    """``text`` with every registered secret pattern masked."""
    for pattern in _PATTERNS.values():
        text = pattern.sub(_mask_match, text)
    return text


def _mask_match(match: re.Match[str]) -> str:
    if "secret" in match.re.groupindex and match.group("secret") is not None:
        start, end = match.span("secret")
        whole = match.group(0)
        base = match.start()
        return whole[: start - base] + MASK + whole[end - base :]
    return MASK


def redact(value: Any) -> Any:
    """A redacted copy of ``value`` (mappings, lists, tuples and strings; others as they are)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: MASK if _secret_entry(k, v) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _secret_entry(key: Any, value: Any) -> bool:
    # only text is masked whole: ``prompt_tokens: 12`` is usage, not a credential
    return (
        isinstance(key, str)
        and isinstance(value, str | bytes)
        and value != ""
        and (is_secret_key(key))
    )


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message (and ``exc_text``) of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


for _word in (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "authorization",
    "auth_header",
    "cookie",
    "credential",
    "private_key",
    "session_key",
    "access_key",
    "client_secret",
):
    register_secret_key(_word)

register_secret_pattern("openai_key", r"\bsk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{16,}")
register_secret_pattern("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
register_secret_pattern("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{40,})")
register_secret_pattern("slack_token", r"\bxox[abprs]-[A-Za-z0-9\-]{10,}")
register_secret_pattern("stripe_key", r"\b[rs]k_live_[A-Za-z0-9]{20,}")
register_secret_pattern("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}")
register_secret_pattern("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}\b")
register_secret_pattern(
    "jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
)
register_secret_pattern("bearer", r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/\-]{8,}=*)")
register_secret_pattern(
    "private_key_block",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
)
register_secret_pattern(
    "url_credentials", r"(?i)\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:(?P<secret>[^@\s/]+)@"
)
register_secret_pattern(
    "key_value",
    r"(?i)\b(?:password|passwd|secret|token|api[_\-]?key|access[_\-]?key|client[_\-]?secret)"
    r"[\"']?\s*[:=]\s*[\"']?(?P<secret>[^\s\"',;&}]{4,})",
)
