"""Recording's header scan is cached for plain headers (issue 18): it must never keep a secret."""

from __future__ import annotations

from pytest_opsladder.http.canonical import Canonicalizer
from pytest_opsladder.http.scrub import scrub_headers
from pytest_opsladder.observability.redaction import register_secret_pattern


def test_a_header_seen_plain_is_scrubbed_once_a_pattern_matches_it() -> None:
    header = [("x-tenant", "acme-internal-7f3a9c")]
    assert scrub_headers(header) == {"x-tenant": ["acme-internal-7f3a9c"]}  # plain: cached
    remove = register_secret_pattern("tenant_key", r"acme-internal-[0-9a-f]{6}")
    try:
        assert scrub_headers(header)["x-tenant"] != ["acme-internal-7f3a9c"]
    finally:
        remove()
    assert scrub_headers(header) == {"x-tenant": ["acme-internal-7f3a9c"]}


def test_a_secret_header_stays_scrubbed_every_time() -> None:
    headers = [("authorization", "Bearer sk-live-abcdefghijklmnopqrstuvwx"), ("accept", "*/*")]
    for _ in range(3):
        scrubbed = scrub_headers(headers)
        assert "sk-live" not in str(scrubbed["authorization"])
        assert scrubbed["accept"] == ["*/*"]


def test_tool_results_are_masked_with_and_without_escapes() -> None:
    canon = Canonicalizer()
    plain = b'{"messages":[{"role":"tool","content":"at 2026-01-02T03:04:05Z"}]}'
    escaped = b'{"messages":[{"role":"\\u0074ool","content":"at 2026-01-02T03:04:05Z"}]}'
    other = b'{"messages":[{"role":"user","content":"at 2026-01-02T03:04:05Z"}]}'
    assert "<timestamp>" in str(canon.normal_body(plain))
    assert canon.normal_body(escaped) == canon.normal_body(plain)
    assert "2026-01-02T03:04:05Z" in str(canon.normal_body(other))  # not a tool result: kept
