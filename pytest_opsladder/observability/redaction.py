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
_VERSION = [0]  # bumped on every change of _PATTERNS: scanners rebuild their screens


def register_secret_pattern(name: str, regex: str | re.Pattern[str]) -> Callable[[], None]:
    """Redact every match of ``regex`` in strings; a group named ``secret`` limits the mask.

    Returns a function that removes the pattern again (tests use it to leave no trace).
    """
    compiled = re.compile(regex) if isinstance(regex, str) else regex
    _PATTERNS[name] = compiled
    _VERSION[0] += 1

    def remove() -> None:
        if _PATTERNS.get(name) is compiled:
            del _PATTERNS[name]
            _VERSION[0] += 1

    return remove


def register_secret_key(word: str) -> None:
    """Redact the value of any mapping key containing ``word`` (case and ``-``/``_`` ignored)."""
    _KEY_WORDS.add(_norm(word))
    _KEY_RE[:] = [re.compile("|".join(re.escape(w) for w in sorted(_KEY_WORDS)))]


def secret_patterns() -> dict[str, str]:
    return {name: p.pattern for name, p in _PATTERNS.items()}


def registered_patterns() -> dict[str, re.Pattern[str]]:
    """The compiled registry, read by the cassette scanner (:mod:`pytest_opsladder.secrets`)."""
    return _PATTERNS


def patterns_version() -> int:
    """A number that changes whenever a pattern is registered or removed (cache key)."""
    return _VERSION[0]


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


# A list of name/value pairs names its values in a field of its own: a Kubernetes env list or
# a HAR's headers and cookies (``{"name": "DB_PASSWORD", "value": ...}``), AWS tags and ECS
# environments (``Name``/``Value``, ``Key``/``Value``), CloudFormation parameters.
_PAIR_FIELDS = (
    ("name", "value"),
    ("key", "value"),
    ("Name", "Value"),
    ("Key", "Value"),
    ("ParameterKey", "ParameterValue"),
)


def pair_name(value: Mapping[Any, Any]) -> tuple[str, str] | None:
    """``(the value's field, the name it stands under)`` when ``value`` is a name/value pair."""
    if len(value) > 8 or not ("value" in value or "Value" in value or "ParameterValue" in value):
        return None
    for name_field, value_field in _PAIR_FIELDS:
        name = value.get(name_field)
        if type(name) is str and value_field in value:
            return value_field, name
    return None


def redact(value: Any) -> Any:
    """A redacted copy of ``value`` (mappings, lists, tuples and strings; others as they are)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        pair = pair_name(value)
        return {
            k: MASK
            if _secret_entry(k, v)
            or (pair is not None and k == pair[0] and _secret_entry(pair[1], v))
            else redact(v)
            for k, v in value.items()
        }
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
        if isinstance(record.args, Mapping):  # "%(password)s": the key names the value
            record.args = redact(dict(record.args))
        elif isinstance(record.args, tuple):  # a dict or list argument: its credential keys
            record.args = tuple(redact(a) if isinstance(a, dict | list) else a for a in record.args)
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

# One registry, read by level-3 redaction (every exporter) and by the level-0 cassette scanner
# (pytest_opsladder.secrets). Provider formats with a fixed prefix are exact; the ones marked
# "detect-secrets" are taken from that project's curated plugin regexes (see _detect_secrets).
#
# Where a token may start. ``\b`` alone misses a token joined to what stands before it: after an
# identifier's underscore (``token_ghp_...``, ``MY_KEY_sk-proj-...``) or after a protobuf field's
# length byte, which is a letter or a digit for lengths 48-57 and 65-122 (``\x12Aghp_...``).
# JOINED takes those two, and nothing inside a base64 run (an image, an encrypted reasoning
# item), where a prefix turns up by chance: there, a letter or digit stands before another one,
# and an underscore has a long run of the base64url alphabet before it.
JOINED = r"(?:(?<=_)(?<![A-Za-z0-9+/_\-]{33})|(?<=[^A-Za-z0-9+/_\-][A-Za-z0-9])|(?<=^[A-Za-z0-9]))"
_START = r"(?:\b|" + JOINED + ")"
_SK_START = r"(?:(?<![A-Za-z0-9_-])|" + JOINED + ")"  # not after a word's hyphen: "risk-ant-..."


def _started(width: int, start: str = _START) -> str:
    r"""Where the ``width`` characters just matched (a format's prefix) may start: checked after
    the prefix, so that ``re`` skips from one occurrence of the prefix to the next (checked
    before it, every position of the text is tried: 4x slower than ``\b`` on 3 MB)."""
    return f"(?<={start}{'.' * width})"


register_secret_pattern(
    "anthropic_key", "sk-ant-" + _started(7, _SK_START) + r"[A-Za-z0-9_\-]{20,}"
)
register_secret_pattern(
    "openai_key",
    "sk-" + _started(3, _SK_START) + r"(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}",
)
register_secret_pattern(
    "aws_access_key",
    "(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)" + _started(4) + "[0-9A-Z]{16}(?![A-Z0-9])",
)
register_secret_pattern(
    "aws_secret_access_key",
    r"(?i)aws.{0,24}?(?:secret|key|pwd|pw|password|pass|token).{0,24}?(?<![A-Za-z0-9/+])"
    r"(?P<secret>[0-9a-zA-Z/+]{40})(?![A-Za-z0-9/+])",
)
register_secret_pattern(
    "github_token",
    "gh[pousr]_" + _started(4) + "[A-Za-z0-9_]{30,}|github_pat_" + _started(11) + r"\w{40,}",
)
register_secret_pattern("slack_token", "xox[abposr]-" + _started(5) + r"[A-Za-z0-9\-]{10,}")
register_secret_pattern("stripe_key", "[rs]k_(?:live|test)_" + _started(8) + "[A-Za-z0-9]{20,}")
register_secret_pattern("huggingface_token", "hf_" + _started(3) + "[A-Za-z0-9]{30,}")
register_secret_pattern("google_api_key", "AIza" + _started(4) + r"[0-9A-Za-z_\-]{35}")
register_secret_pattern(
    "jwt", "eyJ" + _started(3) + r"[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
)
register_secret_pattern("bearer", r"(?i)\b(?:bearer|token)\s+(?P<secret>[A-Za-z0-9._~+/\-]{16,}=*)")
register_secret_pattern("basic_auth", r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/]{12,}={0,2})")
register_secret_pattern(
    "private_key_block",
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)",
)
# A scheme is short: bounded, each word start costs 32 characters at most (unbounded, a long
# run of "a.b.c..." or "a-b-c..." with a "://" anywhere in the text tried the rest of the run
# from each of its words: 100 KB took 20 s).
register_secret_pattern(
    "url_credentials", r"(?i)\b[a-z][a-z0-9+.\-]{0,31}://[^/\s:@]*:(?P<secret>[^@\s/]+)@"
)
register_secret_pattern(
    "key_value",
    r"(?i)\b(?:password|passwd|secret|token|api[_\-]?key|access[_\-]?key|client[_\-]?secret)"
    r"[\"']?\s*[:=]\s*[\"']?(?P<secret>[^\s\"',;&}]{4,})",
)


def _detect_secrets() -> None:
    """Provider formats from detect-secrets' plugins that our list lacked.

    Only its regex plugins with a fixed, distinctive shape are taken (compiled once into this
    registry, so a scan stays one pass of our own): its keyword and entropy plugins read source
    code line by line and do not know JSON paths, and its Artifactory and public-IP plugins
    match ordinary text.
    """
    patterns = {
        "azure_storage_key": r"AccountKey=(?P<secret>[a-zA-Z0-9+/=]{88})",
        "discord_bot_token": r"\b[MNO][a-zA-Z\d_-]{23,25}\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}\b",
        "gitlab_token": "gl" + _started(2) + "(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-"
        r"[A-Za-z0-9_\-]{20,}",
        "mailchimp_key": r"\b[0-9a-z]{32}-us[0-9]{1,2}\b",
        "npm_token": "npm_"
        + _started(4)
        + r"[A-Za-z0-9]{36}(?![A-Za-z0-9])|:_authToken=\s*(?P<secret>\S+)",
        "pypi_token": "pypi-AgE" + _started(8) + r"[A-Za-z0-9_\-]{70,}",
        "sendgrid_key": r"SG\." + _started(3) + r"[a-zA-Z0-9_-]{22}\.[a-zA-Z0-9_-]{43}",
        "slack_webhook": r"https://hooks\.slack\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/"
        r"(?P<secret>[a-zA-Z0-9_]+)",
        "square_oauth": "sq0csp-" + _started(7) + r"[0-9A-Za-z\\\-_]{43}",
        # a bot's token stands after "bot" in every Bot API URL: /bot<token>/sendMessage
        "telegram_bot_token": r"(?:\b|(?<=bot))\d{8,10}:[0-9A-Za-z_-]{35}\b",
        "twilio_key": r"\b(?:AC|SK)[a-z0-9]{32}\b",
        "putty_private_key": r"PuTTY-User-Key-File-\d[\s\S]*?(?:Private-MAC: \S+|$)",
    }
    for name, regex in patterns.items():
        register_secret_pattern(name, regex)


_detect_secrets()


def _agent_platforms() -> None:
    """Keys of the platforms AI agents are built on (inference, tracing, vector stores, tool
    APIs) with a distinctive prefix, shaped as each vendor issues them (gitleaks and
    detect-secrets list most; the rest from the vendors' documented formats). An agent echoes
    them into tool results and outputs (an env dump, a config read back): under a credential
    name they were found already; in free text only these patterns find them."""
    tail = "(?![A-Za-z0-9])"
    patterns = {
        "groq_key": "gsk_" + _started(4) + "[A-Za-z0-9]{48,56}" + tail,
        "xai_key": "xai-" + _started(4) + "[A-Za-z0-9_]{60,90}" + tail,
        "perplexity_key": "pplx-" + _started(5) + "[A-Za-z0-9]{40,56}" + tail,
        "replicate_token": "r8_" + _started(3) + "[A-Za-z0-9]{37}" + tail,
        "fireworks_key": "fw_" + _started(3) + "[A-Za-z0-9]{24,40}" + tail,
        "langsmith_key": "lsv2_(?:pt|sk)_" + _started(8) + "[a-f0-9]{32}_[a-f0-9]{10}" + tail,
        "pinecone_key": "pcsk_" + _started(5) + "[A-Za-z0-9]{4,8}_[A-Za-z0-9]{40,}" + tail,
        "databricks_token": "dapi" + _started(4) + "[a-f0-9]{32}(?:-[0-9])?" + tail,
        "supabase_token": "sbp_" + _started(4) + "[a-f0-9]{40}" + tail,
        "linear_key": "lin_api_" + _started(8) + "[A-Za-z0-9]{40}" + tail,
        "notion_token": "ntn_"
        + _started(4)
        + "[A-Za-z0-9]{40,50}"
        + tail
        + "|secret_"
        + _started(7)
        + "[A-Za-z0-9]{43}"
        + tail,
        "shopify_token": "shp(?:at|ss|ca|pa)_" + _started(6) + "[a-fA-F0-9]{32}" + tail,
        "atlassian_token": "ATATT3" + _started(6) + "[A-Za-z0-9_=\\-]{150,}",
        "doppler_token": r"dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_\-]{1,40}\.)?"
        + "[A-Za-z0-9]{40,44}"
        + tail,  # a service token names its config: dp.st.prd.<token>
        "tavily_key": "tvly-" + _started(5) + "(?:dev-|prod-)?[A-Za-z0-9]{32}" + tail,
        "mailgun_key": "key-" + _started(4) + "[a-z0-9]{32}" + tail,
        "slack_app_token": "xapp-" + _started(5) + "[0-9]-[A-Z0-9]+-[0-9]+-[a-f0-9]{32,}",
        "discord_webhook": r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/"
        r"[0-9]+/(?P<secret>[A-Za-z0-9_\-]{60,})",
        "google_oauth_token": r"ya29\." + _started(5) + "[0-9A-Za-z_\\-]{30,}",
        "digitalocean_token": "do[opr]_v1_" + _started(7) + "[a-f0-9]{64}" + tail,
        "elevenlabs_key": "sk_" + _started(3, _SK_START) + "[a-f0-9]{48}" + tail,
        "age_secret_key": "AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        "e2b_key": "e2b_" + _started(4) + "[a-f0-9]{40}" + tail,
        "firecrawl_key": "fc-" + _started(3) + "[a-f0-9]{32}" + tail,
    }
    for name, regex in patterns.items():
        register_secret_pattern(name, regex)


_agent_platforms()
