"""Credentials never reach a cassette: header and query scrubbing (ladder level 0).

Headers that carry credentials and query parameters that commonly do are replaced by
``<scrubbed>`` before an interaction is stored; the scanner in :mod:`.secrets_scan` then checks
what is left (bodies included) and refuses to write a cassette that still holds one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pytest_opsladder.observability.redaction import patterns_version
from pytest_opsladder.secret_rules import Strength, detect, looks_like_credential, name_strength
from pytest_opsladder.secrets import vouch_clean

SCRUBBED = "<scrubbed>"
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "x-amz-security-token",
        "x-auth-token",
        "openai-organization",
        "openai-project",
    }
)
SECRET_QUERY = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "key",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "password",
        "passwd",
        "secret",
        "auth",
        "private_token",
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)


def scrub_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Headers as ``{lowercase name: [values]}`` with credential headers scrubbed: the fixed
    list, any header whose name says credential (``X-Service-Token``, ``Private-Token``,
    ``X-Session-Id``), and any value the scanner recognises."""
    out: dict[str, list[str]] = {}
    _forget_if_rules_changed()
    for name, value in pairs:
        low = name.lower()
        out.setdefault(low, []).append(SCRUBBED if _secret_header(low, value) else value)
    return out


def scrub_httpx_headers(headers: Any) -> dict[str, list[str]]:
    """:func:`scrub_headers` of an httpx/httpx2 ``Headers``, read from its raw bytes: a plain
    header seen before (an SDK sends the same dozen on every request) costs one lookup."""
    raw = getattr(headers, "raw", None)
    if raw is None:
        return scrub_headers(headers.multi_items())
    _forget_if_rules_changed()
    encoding = headers.encoding
    out: dict[str, list[str]] = {}
    vouch = True  # every name and value checked by the scanner's own rules: the dict is clean
    for pair in raw:
        known = _PLAIN_RAW.get((pair, encoding))
        if known is None:
            low, value = pair[0].decode(encoding).lower(), pair[1].decode(encoding)
            odd_name = _odd_name(low)
            if _secret_header(low, value):
                out.setdefault(low, []).append(SCRUBBED)  # clean: the scanner skips the mask
                vouch = vouch and not odd_name
                continue
            if odd_name or value[:1] in ("{", "["):  # or JSON in a header: the scan walks it
                out.setdefault(low, []).append(value)
                vouch = False
                continue
            known = _PLAIN_RAW[(pair, encoding)] = (low, value)
            if len(_PLAIN_RAW) > _PLAIN_HEADERS_MAX:
                _PLAIN_RAW.clear()
        out.setdefault(known[0], []).append(known[1])
    if vouch:
        vouch_clean(out)
    return out


_PLAIN_RAW: dict[tuple[tuple[bytes, bytes], str], tuple[str, str]] = {}  # raw plain -> decoded
_PLAIN_NAMES: set[str] = set()  # header names known not to be credentials themselves
_PLAIN_HEADERS: dict[tuple[str, str], None] = {}  # (name, value) pairs known to hold no secret
_PLAIN_HEADERS_MAX = 4096
_RULES_SEEN: list[int] = [-1]


def _forget_if_rules_changed() -> None:
    """A newly registered secret pattern may match a header found plain before."""
    version = patterns_version()
    if version != _RULES_SEEN[0]:
        _PLAIN_HEADERS.clear()
        _PLAIN_RAW.clear()
        _PLAIN_NAMES.clear()
        _RULES_SEEN[0] = version


def _odd_name(low: str) -> bool:
    """Whether a header's (lowercase) name is itself a credential. It is asked of every header
    whose pair is not known plain, and a secret header's pair never is, so ``authorization``
    was scanned on every request (11 us). Plain names are few: each is scanned once per
    version of the rules (a name found to be a credential is not kept)."""
    if low in _PLAIN_NAMES:
        return False
    if detect(low):
        return True
    if len(_PLAIN_NAMES) >= _PLAIN_HEADERS_MAX:
        _PLAIN_NAMES.clear()
    _PLAIN_NAMES.add(low)
    return False


def _secret_header(name: str, value: str) -> bool:
    """Cached for headers found plain: an SDK sends the same dozen headers on every request,
    and scanning each value is most of the recording's cost. Secrets are never cached."""
    if (name, value) in _PLAIN_HEADERS:
        return False
    secret = name in SECRET_HEADERS or name_strength(name) > 0 or bool(detect(value, name))
    if not secret:
        if len(_PLAIN_HEADERS) >= _PLAIN_HEADERS_MAX:
            _PLAIN_HEADERS.clear()  # bounded: per-request values (ids, dates) never fill it up
        _PLAIN_HEADERS[(name, value)] = None
    return secret


def scrub_query(query: str) -> str:
    """A query string with credential parameters' values scrubbed: the fixed names, names
    that say credential when the value looks like one (``?session=``, ``?code=``), and values
    the scanner recognises (percent-decoded first)."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    secret = [_secret_param(k, v) for k, v in pairs]
    if not any(secret):
        return query
    return urlencode(
        [(k, SCRUBBED if s else v) for (k, v), s in zip(pairs, secret, strict=True)], safe="<>"
    )


def _secret_param(name: str, value: str) -> bool:
    if name.lower() in SECRET_QUERY:
        return True
    strength = name_strength(name)
    return (strength > 0 and looks_like_credential(value, strength)) or bool(detect(value, name))


def scrub_url(url: str) -> str:
    """``url`` with credential query parameters, any ``user:password@`` and credentials in
    its path removed."""
    return _scrub_url(url, patterns_version())


def shown_url(url: str) -> str:
    """``url`` as a message or a label shows it to a person: :func:`scrub_url`, and every path
    segment that looks random masked too. Webhooks carry their credential in the path (a
    Discord or a generic ``/hooks/<token>`` URL) in forms no scanner knows; a reader needs the
    host and the route, never the token."""
    parts = urlsplit(scrub_url(url))
    segments = parts.path.split("/")
    path = "/".join(SCRUBBED if looks_like_credential(s, Strength.WEAK) else s for s in segments)
    return urlunsplit(parts._replace(path=path))


@functools.lru_cache(maxsize=1024)
def _scrub_url(url: str, _patterns: int) -> str:
    """Cached: an agent calls the same few URLs (per version of the secret patterns)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    path = _scrub_path(parts.scheme, netloc, parts.path)
    return urlunsplit((parts.scheme, netloc, path, scrub_query(parts.query), parts.fragment))


def _scrub_path(scheme: str, netloc: str, path: str) -> str:
    """A URL's path with the credentials the scanner finds in it scrubbed: APIs that take the
    key in the path (Telegram's ``/bot<token>/``, a Slack webhook's last segment). Read with
    its host, as those formats are written; record and replay scrub alike, so it matches."""
    if not path:
        return path
    head = f"{scheme}://{netloc}"
    hits = [h for h in detect(head + path) if h.end > len(head)]
    if not hits:
        return path
    spans = sorted((max(h.start - len(head), 0), h.end - len(head)) for h in hits)
    out, at = [], 0
    for start, end in spans:
        if start >= at:
            out.append(path[at:start] + SCRUBBED)
        at = max(at, end)
    return "".join(out) + path[at:]
