"""What counts as a credential in one string (ladder levels 0 and 3).

Three rules, applied to a string and the name it is stored under (a JSON key, a header, a query
or form field, a multipart part):

- a match of a pattern of the one registry (:mod:`pytest_opsladder.observability.redaction`):
  provider formats, PEM/PGP/PuTTY private keys, bearer and basic credentials, URL passwords;
- a value under a *credential name* (password, secret, token, auth, session, cookie, key,
  credential, private ..., read word by word: ``X-Session-Id``, ``privateToken``) that *looks
  like a credential*: no whitespace, not a placeholder, long and varied enough (entropy);
- the same two rules on the percent-decoded and the base64-decoded forms of the string.

A :class:`Hit` is a span of the string; decoded hits cover the whole encoded run.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from pytest_opsladder.observability import redaction

# Words that make a name a credential's. Strong ones hold secrets whatever the value's shape;
# weak ones (``token``: a logprob token, ``key``: a dict key, ``code``: an error code) only when
# the value looks random.
STRONG_WORDS = frozenset(
    {"password", "passwd", "pwd", "passphrase", "secret", "secrets", "credential", "credentials"}
)
WEAK_WORDS = frozenset(
    {"token", "auth", "authorization", "session", "sessionid", "sid", "cookie", "key", "code"}
    | {"private", "otp", "jwt", "bearer", "pat", "apikey", "privatekey"}
)
_PAIRS = {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key")}
# A name ending in one of these describes a credential, it does not hold one (token_type).
_DESCRIPTIVE = frozenset(
    {"type", "count", "limit", "length", "len", "max", "min", "usage", "hash", "name", "names"}
    | {"expires", "expiry", "expiration", "format", "method", "kind", "mode", "ttl", "url"}
    | {"idempotency", "tokens", "keys", "path", "file", "id_type", "enabled", "required"}
)
# Keys that are ids for dedup and tracing, not credentials (idempotency_key, trace_token).
_NOT_SECRET = frozenset({"idempotency", "request", "trace", "correlation", "cache", "public"})
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_PLACEHOLDER = re.compile(
    r"(?i)^(?:<[^>]*>|\[[^\]]*\]|\$\{[^}]*\}|\{\{[^}]*\}\}|\*+|x{3,}|\.{3,}|null|none|true|"
    r"false|redacted|scrubbed|changeme|example|placeholder|undefined)$"
)
_MASKS = ("<scrubbed>", redaction.MASK, "%3Cscrubbed%3E")
SCHEMES = ("bearer ", "basic ", "token ", "digest ")


@dataclass(frozen=True, slots=True)
class Hit:
    """A credential at ``text[start:end]``; ``kind`` names the rule that found it."""

    start: int
    end: int
    kind: str


class Strength:
    NONE = 0
    WEAK = 1
    STRONG = 2


@lru_cache(maxsize=4096)
def name_strength(name: str) -> int:
    """How strongly ``name`` says "credential": word by word, camelCase and separators split."""
    words = [w.lower() for w in _SPLIT.split(name) if w]
    if not words or words[-1] in _DESCRIPTIVE:
        return Strength.NONE
    if any(_word_strength(w) == Strength.STRONG for w in words):
        return Strength.STRONG
    if any(w in _NOT_SECRET for w in words):
        return Strength.NONE
    pairs = any((a, b) in _PAIRS for a, b in itertools.pairwise(words))
    if pairs or any(_word_strength(w) == Strength.WEAK for w in words):
        return Strength.WEAK
    return Strength.NONE


def _word_strength(word: str) -> int:
    if word in STRONG_WORDS or any(s in word for s in ("password", "passwd", "secret")):
        return Strength.STRONG
    if word in WEAK_WORDS or word.endswith(("token", "apikey", "sessionid", "secretkey")):
        return Strength.WEAK
    return Strength.NONE


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def looks_like_credential(value: str, strength: int) -> bool:
    """Whether ``value``, stored under a name of ``strength``, has a credential's shape."""
    value = value.strip()
    low = value.lower()
    for scheme in SCHEMES:
        if low.startswith(scheme):
            return looks_like_credential(value[len(scheme) :], Strength.STRONG)
    if not value or any(m in value for m in _MASKS) or _PLACEHOLDER.match(value):
        return False
    if any(c.isspace() for c in value):
        return False
    if strength >= Strength.STRONG:
        return len(value) >= 8 or (len(value) >= 6 and not value.isalpha())
    return strength == Strength.WEAK and _random_looking(value)


def _random_looking(value: str) -> bool:
    if len(value) < 16:
        return False
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    return classes >= 2 and entropy(value) >= 3.2


# name=value, "name": "value", name: value (headers), multipart parts.
_KEY_VALUE = re.compile(
    r"(?<![A-Za-z0-9_.\-])(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,63})\\?[\"']?\s*(?:=>|=|:(?!//))"
    r"\s*\[?\s*\\?[\"']?"
    r"(?P<secret>(?:(?i:bearer|basic|token)\s+)?[^\s\"'&,;}<>\[\]\\]{4,})"
)
_MULTIPART = re.compile(
    r"name=\"(?P<name>[^\"]{1,64})\"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n(?P<secret>[^\r\n]{4,})"
)
_HINTS = (
    "pass", "pwd", "secret", "token", "auth", "session", "sid", "cookie", "key", "credential",
    "priv", "code", "otp", "jwt", "pat", "bearer",
)  # fmt: skip
_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{20,}={0,2}")
_SKIP_PATTERNS = frozenset({"key_value"})  # level-3's own: the name rule below is stricter


def detect(text: str, name: str | None = None, *, depth: int = 0) -> list[Hit]:
    """Every credential in ``text`` (stored under ``name``), as spans of ``text``."""
    low = text.lower()
    hits = _pattern_hits(text, low)
    strength = name_strength(name) if name else Strength.NONE
    if strength and looks_like_credential(text, strength):
        hits.append(Hit(0, len(text), f"value of credential field {name!r}"))
    if _HINT.search(low) is not None:
        hits += _named_hits(text)
    if depth == 0:
        hits += _decoded_hits(text, name)
    return hits


_SHORTEST = 15  # no built-in format is shorter (xoxb- and 10 characters)
_BUILT_IN = dict(redaction.registered_patterns())  # name -> the pattern shipped under it


def _screen_of(patterns: dict[str, re.Pattern[str]]) -> re.Pattern[str] | None:
    """One alternation of ``patterns``: a string none of them matches (nearly all) costs one
    search instead of one per pattern."""
    parts = []
    for pattern in patterns.values():
        text = pattern.pattern.replace("(?P<secret>", "(?:")
        if text.startswith("(?i)"):
            text = "(?i:" + text[4:] + ")"
        parts.append(f"(?:{text})")
    return re.compile("|".join(parts)) if parts else None


# Built-in formats with no literal to look for (each is one quick search starting at a
# character class): screened together, apart from the anchored ones.
_UNANCHORED = frozenset({"telegram_bot_token", "discord_bot_token", "twilio_key", "mailchimp_key"})
# Every other built-in pattern needs one of these substrings (any case): one search for the
# alternation is far cheaper than a regex per pattern over long text (a 20 KB answer).
_ANCHORS = (
    "sk-", "k_live_", "k_test_", "akia", "asia", "a3t", "abia", "acca", "aws", "ghp_", "gho_",
    "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "hf_", "aiza", "eyj", "bearer", "token",
    "basic", "-----begin", "://", "accountkey", "glpat-", "gldt-", "glft-", "glsoat-", "glrt-",
    "glcbt-", "glimt-", "glptt-", "glagent-", "gloas-", "npm_", "_authtoken", "pypi-", "sg.",
    "sq0csp-", "putty",
)  # fmt: skip


def _trie_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    """One regex matching any of ``words``, shaped as their trie: ``re`` tries one branch per
    position instead of one per word (a plain alternation is several times slower)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return re.compile(_trie_pattern(trie))


def _trie_pattern(node: dict[str, Any]) -> str:
    branches = [re.escape(char) + _trie_pattern(sub) for char, sub in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


_ANCHOR = _trie_regex(_ANCHORS)  # searched in the lowercased text
_HINT = _trie_regex(_HINTS)


@dataclass(frozen=True, slots=True)
class _Screens:
    """The registry split for speed: built-in patterns screened by one alternation each for
    the anchored and the unanchored ones; patterns registered by the user run on their own."""

    version: int
    anchored: tuple[tuple[str, re.Pattern[str]], ...]
    anchored_screen: re.Pattern[str] | None
    unanchored: tuple[tuple[str, re.Pattern[str]], ...]
    unanchored_screen: re.Pattern[str] | None
    custom: tuple[tuple[str, re.Pattern[str]], ...]


_SCREENS: list[_Screens] = []


def _screens() -> _Screens:
    version = redaction.patterns_version()
    if _SCREENS and _SCREENS[0].version == version:
        return _SCREENS[0]
    anchored: dict[str, re.Pattern[str]] = {}
    unanchored: dict[str, re.Pattern[str]] = {}
    custom: dict[str, re.Pattern[str]] = {}
    for kind, pattern in redaction.registered_patterns().items():
        if kind in _SKIP_PATTERNS:
            continue
        if _BUILT_IN.get(kind) is not pattern:
            custom[kind] = pattern
        else:
            (unanchored if kind in _UNANCHORED else anchored)[kind] = pattern
    screens = _Screens(
        version,
        tuple(anchored.items()),
        _screen_of(anchored),
        tuple(unanchored.items()),
        _screen_of(unanchored),
        tuple(custom.items()),
    )
    _SCREENS[:] = [screens]
    return screens


def _pattern_hits(text: str, low: str) -> list[Hit]:
    screens = _screens()
    out: list[Hit] = []
    _matches(text, screens.custom, out)
    if len(text) < _SHORTEST:
        return out
    if screens.unanchored_screen is not None and screens.unanchored_screen.search(text):
        _matches(text, screens.unanchored, out)
    screen = screens.anchored_screen
    if screen is not None and _ANCHOR.search(low) and screen.search(text):
        _matches(text, screens.anchored, out)
    return out


def _matches(text: str, patterns: tuple[tuple[str, re.Pattern[str]], ...], out: list[Hit]) -> None:
    for kind, pattern in patterns:
        for match in pattern.finditer(text):
            group = "secret" if "secret" in pattern.groupindex and match.group("secret") else 0
            value = match.group(group)
            if value and not any(m in value for m in _MASKS):
                out.append(Hit(*match.span(group), kind))


def _named_hits(text: str) -> list[Hit]:
    out = []
    for regex in (_KEY_VALUE, _MULTIPART):
        for match in regex.finditer(text):
            strength = name_strength(match.group("name"))
            if strength and looks_like_credential(match.group("secret"), strength):
                label = f"value of credential field {match.group('name')!r}"
                out.append(Hit(*match.span("secret"), label))
    return out


def _decoded_hits(text: str, name: str | None) -> list[Hit]:
    out = []
    if "%" in text:
        decoded = unquote_plus(text)
        if decoded != text and detect(decoded, name, depth=1):
            kinds = {h.kind for h in detect(decoded, name, depth=1)}
            out.append(Hit(0, len(text), f"percent-encoded {sorted(kinds)[0]}"))
    if len(text) >= 20:
        out += _base64_hits(text, name)
    return out


def _base64_hits(text: str, name: str | None) -> list[Hit]:
    out = []
    for match in _BASE64_RUN.finditer(text):
        decoded = _b64decode(match.group(0))
        if decoded is None:
            continue
        inner = detect(decoded, name, depth=1)
        if inner:
            out.append(Hit(*match.span(), f"base64-encoded {inner[0].kind}"))
    return out


def _b64decode(run: str) -> str | None:
    """The printable text a base64 run stands for, or None (hex digests, ids, binary)."""
    if _HEX.fullmatch(run):
        return None
    padded = run + "=" * (-len(run) % 4)
    try:
        raw = base64.b64decode(padded, altchars=b"-_" if ("-" in run or "_" in run) else None)
    except (binascii.Error, ValueError):
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(c.isprintable() or c in "\r\n\t" for c in decoded)
    return decoded if decoded and printable / len(decoded) > 0.95 else None
