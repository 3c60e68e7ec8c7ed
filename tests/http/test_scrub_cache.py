"""Recording's header scan is cached for plain headers (issue 18): it must never keep a secret."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pytest_opsladder.http.canonical import Canonicalizer
from pytest_opsladder.http.scrub import scrub_headers
from pytest_opsladder.observability.redaction import register_secret_pattern
from pytest_opsladder.secrets import CassetteSecretError, refuse_secrets, remember


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


def test_the_cassette_scan_sees_a_pattern_registered_after_it_found_a_value_clean() -> None:
    """The scanner remembers strings and resent messages found clean (issue 18); a pattern
    registered later must still find them (the caches are dropped with the registry)."""
    from pytest_opsladder.secrets import remember, scan

    messages = [{"role": "user", "content": "ticket acme-internal-7f3a9c please"}] * 2
    interaction = {"request": {"body": {"text": json.dumps({"messages": messages})}}}
    remember(interaction)
    assert scan(interaction) == []
    remove = register_secret_pattern("tenant_key", r"acme-internal-[0-9a-f]{6}")
    try:
        again = {"request": {"body": {"text": json.dumps({"messages": messages})}}}
        remember(again)
        paths = [f.path for f in scan(again)]
        assert paths == [f"$.request.body.text.messages[{i}].content" for i in (0, 1)]
    finally:
        remove()


def test_a_resent_message_holding_a_secret_is_found_every_time() -> None:
    """A conversation resends its messages each turn: the one with a key is never cached."""
    from pytest_opsladder.secrets import remember, scan

    leak = {"role": "user", "content": "my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"}
    for turn in range(3):
        body = {"messages": [{"role": "system", "content": "be brief"}, leak]}
        interaction = {"request": {"body": {"text": json.dumps(body)}}, "turn": turn}
        remember(interaction)
        found = scan(interaction)
        assert [f.path for f in found] == ["$.request.body.text.messages[1].content"], turn


def test_headers_skip_the_scan_only_when_every_rule_ran_on_them() -> None:
    """Scrubbed httpx headers are vouched clean (issue 18); JSON in a header is not, and the
    scan still finds a credential inside it."""
    import httpx

    from pytest_opsladder.http.scrub import scrub_httpx_headers
    from pytest_opsladder.secrets import scan

    plain = scrub_httpx_headers(httpx.Headers([("Accept", "*/*"), ("Authorization", "Bearer x")]))
    assert plain == {"accept": ["*/*"], "authorization": ["<scrubbed>"]}
    assert scan({"headers": plain}) == []
    meta = json.dumps({"password": "hunter2hunter2"})
    odd = scrub_httpx_headers(httpx.Headers([("Accept", "*/*"), ("X-Meta", meta)]))
    assert odd["x-meta"] == ["<scrubbed>"]
    trace = json.dumps({"trace": "abc"})
    kept = scrub_httpx_headers(httpx.Headers([("X-Meta", trace)]))
    assert kept == {"x-meta": [trace]}
    assert scan({"headers": kept}) == []


def test_a_message_seen_as_an_object_never_vouches_for_the_same_text_as_plain_data() -> None:
    # orjson writes a dataclass as the dict it holds: the screen's cache of clean messages must
    # not take the dataclass (which it does not read) for the plain dict that spells a key
    @dataclasses.dataclass
    class Holder:
        api_key: str

    token = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
    remember({"messages": [{"k": Holder(token)}]})
    interaction = {"request": {"messages": [{"k": {"api_key": token}}]}}
    remember(interaction)  # scanned as recorded, kept for the write
    with pytest.raises(CassetteSecretError):
        refuse_secrets({"http": [interaction]})
