"""Credentials never reach a cassette: header and query scrubbing (ladder level 0).

Headers that carry credentials and query parameters that commonly do are replaced by
``<scrubbed>`` before an interaction is stored; the scanner in :mod:`.secrets_scan` then checks
what is left (bodies included) and refuses to write a cassette that still holds one.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)


def scrub_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Headers as ``{lowercase name: [values]}`` with credential headers scrubbed."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        low = name.lower()
        out.setdefault(low, []).append(SCRUBBED if low in SECRET_HEADERS else value)
    return out


def scrub_query(query: str) -> str:
    """A query string with credential parameters' values scrubbed."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(k.lower() in SECRET_QUERY for k, _ in pairs):
        return query
    return urlencode(
        [(k, SCRUBBED if k.lower() in SECRET_QUERY else v) for k, v in pairs], safe="<>"
    )


def scrub_url(url: str) -> str:
    """``url`` with credential query parameters and any ``user:password@`` removed."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, scrub_query(parts.query), parts.fragment))
