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
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

import ahocorasick

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
    | {"stdin", "prompt", "env", "less"}  # --password-stdin: how a credential is passed
)
# Keys that are ids for dedup and tracing, not credentials (idempotency_key, trace_token).
_NOT_SECRET = frozenset({"idempotency", "request", "trace", "correlation", "cache", "public"})
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_PLACEHOLDER = re.compile(
    r"(?i)^(?:<[^>]*>|\[[^\]]*\]|\$\{[^}]*\}|\{\{[^}]*\}\}|\*+|x{3,}|\.{3,}|null|none|true|"
    r"false|redacted|scrubbed|changeme|example|placeholder|undefined)$"
)
MASKS = ("<scrubbed>", redaction.MASK, "%3Cscrubbed%3E")  # what a masked value holds
SCHEMES = ("bearer ", "basic ", "token ", "digest ", "apikey ")


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
    if len(words) > 1 and words[-1] == "pass" and name.isupper():
        return Strength.STRONG  # an environment variable's password: DB_PASS, SMTP_PASS
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
    if not value or any(m in value for m in MASKS) or _PLACEHOLDER.match(value):
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


# name=value, "name": "value", name: value (headers), multipart parts. Whitespace is taken
# possessively (nothing after it may start with whitespace): backtracking through it made
# "password:" and 50,000 spaces cost 100 s. The name is taken
# whole (possessive): what may follow it is never a name's character, so giving some back
# cannot make a match, and trying to cost each word of a text up to 64 tries.
# A value is not the next name: under a YAML key with nested keys (``environment:`` then
# ``POSTGRES_PASSWORD: x`` on the next line) the value is the next line's own pair.
# A name starts a word, or follows a command-line flag's dashes (``--password=x``, ``-token=x``).
_NEXT_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}+[\"']?[ \t]*+(?:=>|=|:)(?:\s|$)"
_NAME_START = r"(?:(?<![A-Za-z0-9_.\-])|(?<=-)(?<![A-Za-z0-9_.]-))"


def _key_value(longest: str) -> re.Pattern[str]:
    """The name=value search, its value read for at most ``longest`` characters ("": any)."""
    return re.compile(
        _NAME_START + r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,63}+)\\?[\"']?\s*+(?:=>|:=|=|:(?!//))"
        r"\s*+(?:\[\s*+)?\\?[\"']?"
        r"(?P<secret>(?!"
        + _NEXT_NAME
        + r")(?:(?i:bearer|basic|token|apikey)\s++)?[^\s\"'&,;}<>\[\]\\]{4,"
        + longest
        + "})"
    )


_KEY_VALUE = _key_value("")
_KEY_VALUE_NEAR = _key_value("256")  # a pair nested deep in other pairs' values: see _pairs
# <password>value</password> (Maven's settings.xml, .NET and Java configs): one line, so that
# no match runs from one text of a joined scan into the next (see ``secrets._JOIN``).
_XML_ELEMENT = re.compile(
    r"<(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,63})(?:[ \t][^<>\r\n]*)?>"
    r"(?P<secret>[^<>\s]{4,})</(?P=name)>"
)
# A part's headers are a few short lines: bounded, so that each name=" costs a few lines at
# most (unbounded, every name=" of an HTML page read on to the page's first blank line, and a
# 137 KB form of 3,000 inputs took 3 s).
_MULTIPART = re.compile(
    r"name=\"(?P<name>[^\"]{1,64})\"[^\r\n]{0,256}\r?\n(?:[^\r\n]{1,256}\r?\n){0,4}\r?\n"
    r"(?P<secret>[^\r\n]{4,})"
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
    low = fold(text)
    literals, hints = _words_in(low)
    hits = _pattern_hits(text, literals)
    strength = name_strength(name) if name else Strength.NONE
    if strength and looks_like_credential(text, strength):
        hits.append(Hit(0, len(text), f"value of credential field {name!r}"))
    hits += _named_hits(text, hints)
    hits += _command_hits(text, literals, hints)
    if depth == 0:
        hits += _decoded_hits(text, name)
    return hits


_SHORTEST = 15  # no built-in format is shorter (xoxb- and 10 characters)
_BUILT_IN = dict(redaction.registered_patterns())  # name -> the pattern shipped under it

# Every built-in format but four holds a literal: these are its lowercase forms, one of which a
# match must hold. A pattern runs only on a text holding one of its literals, so a text pays
# for the formats it may hold, not for all of them (one alternation of every pattern costs
# over 1 ms on a 2 KB stream, where ``token`` of ``prompt_tokens`` is the only literal).
_GITLAB = ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-", "glptt-", "glagent-")
# A literal ending in this is its word followed by whitespace (the pattern's ``\s`` after it),
# for formats whose word is a common one (a usage block's ``prompt_tokens``).
_SPACED = "\\s"
_LITERALS: dict[str, tuple[str, ...]] = {
    "anthropic_key": ("sk-ant-",),
    "openai_key": ("sk-",),
    "aws_access_key": ("a3t", "abia", "acca", "akia", "asia"),
    "aws_secret_access_key": ("aws",),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "slack_token": ("xox",),
    "stripe_key": ("k_live_", "k_test_"),
    "huggingface_token": ("hf_",),
    "google_api_key": ("aiza",),
    "jwt": ("eyj",),
    "bearer": ("bearer" + _SPACED, "token" + _SPACED),
    "basic_auth": ("basic" + _SPACED,),
    "private_key_block": ("-----begin ",),
    "url_credentials": ("://",),
    "azure_storage_key": ("accountkey=",),
    "gitlab_token": (*_GITLAB, "gloas-"),
    "npm_token": ("npm_", ":_authtoken="),
    "pypi_token": ("pypi-age",),
    "sendgrid_key": ("sg.",),
    "slack_webhook": ("https://hooks.slack.com/services/t",),
    "square_oauth": ("sq0csp-",),
    "putty_private_key": ("putty-user-key-file-",),
    "groq_key": ("gsk_",),
    "xai_key": ("xai-",),
    "perplexity_key": ("pplx-",),
    "replicate_token": ("r8_",),
    "fireworks_key": ("fw_",),
    "langsmith_key": ("lsv2_pt_", "lsv2_sk_"),
    "pinecone_key": ("pcsk_",),
    "databricks_token": ("dapi",),
    "supabase_token": ("sbp_",),
    "linear_key": ("lin_api_",),
    "notion_token": ("ntn_", "secret_"),
    "shopify_token": ("shpat_", "shpss_", "shpca_", "shppa_"),
    "atlassian_token": ("atatt3",),
    "doppler_token": ("dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."),
    "tavily_key": ("tvly-",),
    "mailgun_key": ("key-",),
    "slack_app_token": ("xapp-",),
    "discord_webhook": ("/api/webhooks/",),
    "google_oauth_token": ("ya29.",),
    "digitalocean_token": ("dop_v1_", "doo_v1_", "dor_v1_"),
    "elevenlabs_key": ("sk_",),
    "age_secret_key": ("age-secret-key-1",),
    "e2b_key": ("e2b_",),
    "firecrawl_key": ("fc-",),
}
# The four formats with no literal: a necessary condition of each, written to start with a
# literal character so that ``re`` skips to it (a lookbehind or a class first makes it try
# every position). Each is implied by its pattern: the characters a match must have before and
# after the literal (a Discord token's first letter, M, N or O, is one of its class's). Two of
# them hold a case-sensitive literal too, looked for first (``in``, in C): a Twilio key starts
# with AC or SK, a Mailchimp key holds -us.
_LOOSE_NEEDLES = {"twilio_key": ("AC", "SK"), "mailchimp_key": ("-us",)}
_LOOSE = {
    "telegram_bot_token": re.compile(r":(?<=\d{8}:)[0-9A-Za-z_-]{35}"),
    "discord_bot_token": re.compile(r"\.(?<=[a-zA-Z\d_-]{24}\.)[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}"),
    "twilio_key": re.compile(r"(?:AC|SK)[a-z0-9]{32}"),
    "mailchimp_key": re.compile(r"-us(?<=[0-9a-z]{32}-us)[0-9]"),
}
# re's IGNORECASE matches these to an ASCII letter, which str.lower() does not give (U+0130
# lowers to two characters): folded first, so that a literal found in the lowercased text is
# a necessary condition of the case-insensitive patterns too.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def fold(text: str) -> str:
    """``text`` lowercased for the literal screens (see ``_FOLD``)."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


# Searched in the folded text: no literal of any format, then no built-in format but the loose.
_WORDS = frozenset(word for words in _LITERALS.values() for word in words)
_BARE = frozenset(word.removesuffix(_SPACED) for word in _WORDS)  # what the automaton seeks
# The words of the command-line and code rules (``_command_hits``), sought by the automaton too.
_COMMAND_WORDS = frozenset(
    {"mysql", "sshpass", "redis-cli", "login", "curl", "wget", "http ", "https ", "auth"}
    | {"password"}
)


def _automaton() -> Any:
    """One Aho-Corasick automaton of the formats' literals and the names' hints: every
    occurrence of either, overlapping ones included, in one pass in C (pyahocorasick). Each
    word's value: (the word, its length less one, is a literal, is a literal when whitespace
    follows it, is a hint). It replaced two trie-shaped regexes, which ``re`` tried at each
    position of the text: 17.8 us on a 529-character chat completion between them, 5.7 us."""
    automaton = ahocorasick.Automaton()
    for word in sorted(_BARE | set(_HINTS) | set(_COMMAND_WORDS)):
        literal, spaced = word in _WORDS or word in _COMMAND_WORDS, word + _SPACED in _WORDS
        automaton.add_word(word, (word, len(word) - 1, literal, spaced, word in _HINTS))
    automaton.make_automaton()
    return automaton


_AUTOMATON = _automaton()


def _words_in(low: str) -> tuple[set[str], list[int]]:
    """The literals ``low`` holds, and where each hint in it starts (in order)."""
    literals: set[str] = set()
    hints: list[int] = []
    for end, (word, back, literal, spaced, hint) in _AUTOMATON.iter(low):
        if literal:
            literals.add(word)
        if spaced and low[end + 1 : end + 2].isspace():
            literals.add(word + _SPACED)
        if hint:
            hints.append(end - back)
    hints.sort()
    return literals, hints


Gated = tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...]
Screened = tuple[tuple[str, re.Pattern[str], re.Pattern[str], tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class _Screens:
    """The registry split for speed: the built-in formats run only where their literals (or,
    for the four without one, their screens) are found; patterns registered by the user, or a
    built-in name registered again, run on every text."""

    version: int
    gated: Gated  # (kind, pattern, its literals)
    loose: Screened  # (kind, pattern, its screen of the text, literals one of which it holds)
    custom: tuple[tuple[str, re.Pattern[str]], ...]
    by_literal: dict[str, tuple[int, ...]]  # a literal -> the gated formats (index) holding it


_SCREENS: list[_Screens] = []


def _screens() -> _Screens:
    version = redaction.patterns_version()
    if _SCREENS and _SCREENS[0].version == version:
        return _SCREENS[0]
    gated: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = []
    loose: list[tuple[str, re.Pattern[str], re.Pattern[str], tuple[str, ...]]] = []
    custom: list[tuple[str, re.Pattern[str]]] = []
    for kind, pattern in redaction.registered_patterns().items():
        if kind in _SKIP_PATTERNS:
            continue
        if _BUILT_IN.get(kind) is not pattern:
            custom.append((kind, pattern))
        elif kind in _LITERALS:
            gated.append((kind, pattern, _LITERALS[kind]))
        elif kind in _LOOSE:
            loose.append((kind, pattern, _LOOSE[kind], _LOOSE_NEEDLES.get(kind, ())))
        else:  # a built-in with no screen written for it: run on every text, never skipped
            custom.append((kind, pattern))
    by_literal: dict[str, list[int]] = {}
    for index, (_, _, literals) in enumerate(gated):
        for literal in literals:
            by_literal.setdefault(literal, []).append(index)
    indexes = {literal: tuple(at) for literal, at in by_literal.items()}
    screens = _Screens(version, tuple(gated), tuple(loose), tuple(custom), indexes)
    _SCREENS[:] = [screens]
    return screens


def joinable() -> bool:
    """Whether texts may be read in one scan joined (see ``secrets._JOIN``): every pattern is a
    built-in one, whose look-arounds and classes were read for it. A pattern registered by the
    user may be anchored (``^``, ``$``) or run across lines: with one, each text is read alone."""
    return not _screens().custom


def _pattern_hits(text: str, present: set[str]) -> list[Hit]:
    """The registry's matches in ``text`` (``present``: the literals its folded form holds), in
    registry order within the custom, the loose and the gated formats."""
    screens = _screens()
    out: list[Hit] = []
    _matches(text, screens.custom, out)
    if len(text) < _SHORTEST:
        return out
    for kind, pattern, screen, needles in screens.loose:
        if needles and not any(needle in text for needle in needles):
            continue
        if screen.search(text) is not None:
            _matches(text, ((kind, pattern),), out)
    if not present:
        return out
    held = {at for literal in present for at in screens.by_literal.get(literal, ())}
    for at in sorted(held):  # the formats holding a literal found, in registry order
        kind, pattern, _ = screens.gated[at]
        _matches(text, ((kind, pattern),), out)
    return out


def _literals_in(low: str) -> set[str]:
    """Every literal of :data:`_LITERALS` that ``low`` holds (overlapping ones too)."""
    return _words_in(low)[0]


def _matches(text: str, patterns: tuple[tuple[str, re.Pattern[str]], ...], out: list[Hit]) -> None:
    for kind, pattern in patterns:
        for match in pattern.finditer(text):
            group = "secret" if "secret" in pattern.groupindex and match.group("secret") else 0
            value = match.group(group)
            if value and not any(m in value for m in MASKS):
                out.append(Hit(*match.span(group), kind))


def _named_hits(text: str, hints: list[int]) -> list[Hit]:
    """Values of credential names: ``name=value`` pairs, multipart parts and XML elements whose
    name holds a hint (every credential word does), found in the stretches around the hints only
    (``hints``: where each starts, in order; folding keeps every position)."""
    spans = _hinted_stretches(text, hints)
    if not spans:
        return []
    out: list[Hit] = []
    for start, end in spans:
        _key_value_hits(text, start, end, out)
    _credential_values(_MULTIPART.finditer(text), out)
    if "</" in text:
        _credential_values(_XML_ELEMENT.finditer(text), out)
    return out


def _key_value_hits(text: str, start: int, end: int, out: list[Hit]) -> None:
    """The credential values of the ``name=value`` pairs of ``text[start:end]``, a pair inside
    another pair's value too: after a pair whose name is not a credential's, the search goes on
    from its value, not past it. (Past it, ``note: password=hunter2hunter2`` hid the password
    in the value of ``note``, and so did ``DATABASE_URL: password=...``.)"""
    at, nested, value_end = start, 0, -1
    while (match := _pairs(nested).search(text, at, end)) is not None:
        if match.start() >= value_end:
            nested = 0  # not inside the last pair's value
        name, secret = match.group("name"), match.group("secret")
        strength = name_strength(name)
        if strength and looks_like_credential(secret, strength):
            out.append(Hit(*match.span("secret"), f"value of credential field {name!r}"))
            at = match.end()
        else:  # after the name and its separator: progress
            at, nested, value_end = match.start("secret"), nested + 1, match.end()


def _pairs(nested: int) -> re.Pattern[str]:
    """The name=value search for a pair ``nested`` deep in other pairs' values. Each nested
    search reads on to the value's end, so a chain (``a=b=c=...``) cost the square of its
    length (``:_authToken=`` 6,000 times over: 15 s); past a few, a value is read for at
    most 256 characters (a longer credential is found by its first 256)."""
    return _KEY_VALUE if nested < 8 else _KEY_VALUE_NEAR


# No name=value match holds one of these (the name, the separators and the value all exclude
# them): the matches of one search over a whole text are those of the stretches between them,
# each searched alone.
_BARRIER = re.compile(r"[&,;}<\]]")
_LAST_BARRIER = re.compile(r"(?s:.*)[&,;}<\]]")  # matched up to a hint: the barrier before it


def _hinted_stretches(text: str, hints: list[int]) -> list[tuple[int, int]]:
    """The stretches between barriers that hold a hint, in order (``hints``: where each hint
    starts, in order; folding keeps every position). Each edge is one search in C: the last
    barrier between the previous stretch's end (itself a barrier) and the hint, and the first
    barrier after it."""
    spans: list[tuple[int, int]] = []
    end = 0
    for at in hints:
        if at < end:
            continue  # in the stretch already taken
        before = _LAST_BARRIER.match(text, end, at)
        after = _BARRIER.search(text, at)
        end = after.start() if after is not None else len(text)
        spans.append((before.end() if before is not None else 0, end))
    return spans


def _credential_values(matches: Iterable[re.Match[str]], out: list[Hit]) -> None:
    for match in matches:
        strength = name_strength(match.group("name"))
        if strength and looks_like_credential(match.group("secret"), strength):
            label = f"value of credential field {match.group('name')!r}"
            out.append(Hit(*match.span("secret"), label))


# -- command lines and code: a credential passed as an argument -----------------------------
# A value after a space (or in a .netrc, a tab-separated row) is read as a credential only
# when it is not a plain word: "--password followed by ..." is prose, "--password S3cr3t" not.
# It never starts with a dash (the next flag), a quote, a $ (a variable: $PW, ${PW}, $(cat))
# or a bracket or a comma (code or JSON: in a stream's chunk, `-p "}}]}` ends a string).
_VALUE = r"(?P<secret>[^\s\"'$\-{}()\[\],;][^\s\"']{3,})"
_ARG = r"[\"']?" + _VALUE
# --password S3cr3t, -token abc..., and an argv list written in code: "--password", "S3cr3t"
# (quoted: ``["--password", password]`` passes a variable).
_FLAG_SPACED = re.compile(
    r"-(?<![A-Za-z0-9_.\-]-)-?(?P<name>[A-Za-z][A-Za-z0-9_\-]{0,63}+)"
    r"(?:[ \t]+[\"']?|[\"']\s*,\s*[\"'])" + _VALUE
)
_TAB_PAIR = re.compile(r"(?<![A-Za-z0-9_.\-])(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,63}+)\t+" + _ARG)
# A .netrc's password: inline after a login or a machine, or a line of its own.
_NETRC = (
    re.compile(r"\b(?:login|machine)[ \t]+\S+[ \t]+(?P<name>password)[ \t]+" + _ARG),
    re.compile(r"(?m)^[ \t]*(?P<name>password)[ \t]+" + _ARG + r"[ \t]*$"),
)
# A tool's own password flags, and user:password after curl's, wget's or HTTPie's user flag.
# A flag within this many characters of its tool's name, on its line: each name found costs at
# most this much (an unbounded search ran to the line's end from each of them, and a minified
# JSON of 5,000 GitHub users, a "login" in each, took 16 s).
_ON_THE_LINE = r"[^\n]{0,256}?"
_USER_PASS = r"[\"']?[^\s:\"']+:" + _VALUE  # user:password, the password right after the colon
_TOOL_FLAGS = (
    (("mysql",), re.compile(r"\bmysql[a-z]*\b" + _ON_THE_LINE + r"[ \t]-p" + _ARG)),
    (("sshpass",), re.compile(r"\bsshpass[ \t]+-p[ \t]*" + _ARG)),
    (
        ("redis-cli",),
        re.compile(r"\bredis-cli\b" + _ON_THE_LINE + r"[ \t](?:-a|--pass)[ \t]+" + _ARG),
    ),
    (("login",), re.compile(r"\blogin\b" + _ON_THE_LINE + r"[ \t]-p[ \t]+" + _ARG)),
    (
        ("curl",),
        re.compile(r"\bcurl\b" + _ON_THE_LINE + r"[ \t](?:-u|--user)(?:[ \t]*|=)" + _USER_PASS),
    ),
    (
        ("wget",),
        re.compile(r"\bwget\b" + _ON_THE_LINE + r"[ \t]--(?:http-)?user(?:[ \t]+|=)" + _USER_PASS),
    ),
    (
        ("http ", "https "),
        re.compile(
            r"\bhttps?(?= )" + _ON_THE_LINE + r"[ \t](?:-a|--auth)(?:[ \t]+|=)" + _USER_PASS
        ),
    ),
)
# auth=("user", "password"), HTTPBasicAuth('user', 'password'): the pair's second string.
_AUTH_PAIR = re.compile(
    r"(?:\bauth\s*=\s*|\b(?:HTTP)?(?:Basic|Digest|Proxy)Auth\s*)[(\[]\s*(?P<q>\\?[\"'])"
    r"[^\"'\\\n]*(?P=q)\s*,\s*(?P<q2>\\?[\"'])(?P<secret>[^\"'\\\n]{4,})(?P=q2)"
)


def _command_hits(text: str, words: set[str], hints: list[int]) -> list[Hit]:
    """Credentials passed as a command's or a call's arguments (see the patterns above): each
    rule runs only on a text holding its word (``words``: the automaton's finds, which hold
    :data:`_COMMAND_WORDS`), a flag's and a tab pair's where a credential word is (``hints``)."""
    out: list[Hit] = []
    if hints and "-" in text:
        _spaced_values(_FLAG_SPACED.finditer(text), out)
    if hints and "\t" in text:
        _spaced_values(_TAB_PAIR.finditer(text), out)
    if not words:
        return out
    if "password" in words:
        for netrc in _NETRC:
            _spaced_values(netrc.finditer(text), out)
    for tool, pattern in _TOOL_FLAGS:
        if any(word in words for word in tool):
            _argument_values(pattern.finditer(text), tool[0].strip(), out)
    if "auth" in words:
        _argument_values(_AUTH_PAIR.finditer(text), "auth", out)
    return out


def _spaced_values(matches: Iterable[re.Match[str]], out: list[Hit]) -> None:
    """A credential name's value after a space or a tab: a credential's shape, not a word."""
    for match in matches:
        name, secret = match.group("name"), match.group("secret")
        strength = name_strength(name)
        if strength and _not_a_word(secret) and looks_like_credential(secret, strength):
            out.append(Hit(*match.span("secret"), f"value of credential argument {name!r}"))


# What follows a flag but is not its value: an environment variable's name (``--secrets
# HF_TOKEN``) or an assignment (``--secrets KEY=value``, read by the name=value rule).
_NOT_A_VALUE = re.compile(r"[A-Z][A-Z0-9_]*|[A-Za-z_][A-Za-z0-9_]*=.*")


def _not_a_word(value: str) -> bool:
    bare = value.strip("`'\".,;:()[]{}<>")  # as written in prose or Markdown: `--secrets X`
    return not bare.isalpha() and _NOT_A_VALUE.fullmatch(bare) is None


def _argument_values(matches: Iterable[re.Match[str]], word: str, out: list[Hit]) -> None:
    """A password where a tool or a call takes one: any value but a placeholder (``<pw>``,
    ``***``) or a credential's own name (``user:password`` in documentation)."""
    for match in matches:
        secret = match.group("secret")
        if any(m in secret for m in MASKS) or _PLACEHOLDER.match(secret):
            continue
        if name_strength(secret.strip("()[]{}<>")) or secret.lower() == "pass":
            continue
        out.append(Hit(*match.span("secret"), f"password passed to {word.strip()}"))


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
    """Base64 runs that decode to text holding a credential. Each distinct run is decoded
    once (a stream repeats its ids in every event); spans are sought only for the runs whose
    decoded text holds one."""
    spans = _base64_runs(text)
    found: dict[str, str] = {}
    for run in {text[start:end] for start, end in spans}:
        decoded = _b64decode(run)
        inner = detect(decoded, name, depth=1) if decoded is not None else None
        if inner:
            found[run] = f"base64-encoded {inner[0].kind}"
    if not found:
        return []
    runs = ((start, end, found.get(text[start:end])) for start, end in spans)
    return [Hit(start, end, kind) for start, end, kind in runs if kind is not None]


# Every byte of _BASE64_RUN's class as "a", any other as " ": runs of 20 are then found by
# bytes.find, in C, where the regex tried each position of the text in turn.
_BASE64_CLASS = bytes(
    0x61 if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "+/_-") else 0x20
    for b in range(256)
)
_BASE64_MIN = b"a" * 20


def _base64_runs(text: str) -> list[tuple[int, int]]:
    """The spans of :data:`_BASE64_RUN`'s matches in ``text``. An ASCII text (a byte per
    character) is read in C: 18 us for 5 KB of SSE with OpenAI-length ids where the regex
    took 111 us, and one translate (9 us) when it holds no run. Any other text is read by
    the regex."""
    if not text.isascii():
        return [match.span() for match in _BASE64_RUN.finditer(text)]
    mapped = text.encode("ascii").translate(_BASE64_CLASS)
    spans: list[tuple[int, int]] = []
    start = mapped.find(_BASE64_MIN)
    while start >= 0:  # a run's start: the character before it is outside the class
        end = mapped.find(b" ", start)
        end = len(text) if end < 0 else end
        padding = 0
        while padding < 2 and text.startswith("=", end + padding):
            padding += 1
        spans.append((start, end + padding))
        start = mapped.find(_BASE64_MIN, end + padding)
    return spans


@lru_cache(maxsize=4096)
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
