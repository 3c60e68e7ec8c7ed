"""Provider-aware matching: volatile fields ignored, configurable ignore paths, clear misses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_helpers import outcomes, run_in
from llm_servers import LLMServer

from pytest_opsladder.exceptions import ConfigError, HttpReplayMissError
from pytest_opsladder.http.canonical import Canonicalizer
from pytest_opsladder.modes import Mode


def chat(call_id: str, stamp: str, user: str) -> dict[str, Any]:
    """An OpenAI chat request whose ids and tool-result timestamp change on every run."""
    return {
        "model": "m1",
        "user": user,
        "metadata": {"trace": user},
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "weather", "arguments": "{}"},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": call_id,
                "content": json.dumps(
                    {"temp": 21, "at": stamp, "req": "6f1c2d9e-1111-4a4a-9b9b-0123456789ab"}
                ),
            },
        ],
    }


def anthropic_msg(tool_id: str) -> dict[str, Any]:
    return {
        "model": "c1",
        "metadata": {"user_id": tool_id},
        "messages": [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": tool_id, "name": "weather", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": tool_id,
                        "content": "at 2026-01-02T03:04:05Z",
                    }
                ],
            },
        ],
    }


def key(body: dict[str, Any], url: str = "http://127.0.0.1:1/v1/x", **kw: Any) -> str:
    return Canonicalizer(**kw).canonical("POST", url, json.dumps(body).encode()).key


def test_volatile_fields_of_openai_and_anthropic_requests_do_not_change_the_key() -> None:
    assert key(chat("call_1", "2026-01-01T00:00:00Z", "a")) == key(
        chat("call_2", "2027-05-05T10:10:10.123+02:00", "b")
    )
    assert key(anthropic_msg("toolu_1")) == key(anthropic_msg("toolu_2"))


def test_port_key_order_and_header_do_not_matter_but_host_path_query_do() -> None:
    body = {"b": 1, "a": [1, 2]}
    same = Canonicalizer().canonical("POST", "http://h:1/p?x=1&y=2", b'{"a":[1,2],"b":1}').key
    assert key(body, "http://h:2/p?y=2&x=1") == same
    for url in ("http://other:1/p?x=1&y=2", "http://h:1/q?x=1&y=2", "http://h:1/p?x=2&y=2"):
        assert key(body, url) != same


def test_configured_ignore_paths() -> None:
    a, b = {"temperature": 0.1, "m": [{"seed": 1}]}, {"temperature": 0.9, "m": [{"seed": 2}]}
    assert key(a) != key(b)
    assert key(a, ignore=["$.temperature", "m[*].seed"]) == key(
        b, ignore=["temperature", "$.m[0].seed"]
    )


@pytest.mark.parametrize("bad", ["$..x", "a[", "$"])
def test_a_malformed_ignore_path_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="is not a JSON path"):
        Canonicalizer(ignore=[bad])


@pytest.mark.parametrize(
    ("key_name", "value"),
    [("match_ignore", "temperature"), ("stream_timing", -1), ("secrets_allow", ["("])],
)
def test_bad_http_config_values_are_config_errors(
    tmp_path: Path, key_name: str, value: Any
) -> None:
    with pytest.raises(ConfigError, match=key_name):
        run_in(tmp_path / "c.json", lambda: None, Mode.RECORD, **{key_name: value})


def test_match_ignore_end_to_end_and_the_miss_diff_by_json_path(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    def agent(temperature: float, content: str) -> Any:
        def call() -> Any:
            body = {**chat("call_9", "2026-01-01T00:00:00Z", "u"), "temperature": temperature}
            body["messages"][0]["content"] = content
            with httpx.Client() as client:
                return client.post(f"{llm_server.url}/echo", json=body).json()["path"]

        return call

    path = tmp_path / "c.json"
    run_in(path, agent(0.1, "weather?"), Mode.RECORD)
    llm_server.stop()
    replayed = run_in(path, agent(0.7, "weather?"), match_ignore=["$.temperature"])
    assert outcomes(replayed) == ["replayed"]
    with pytest.raises(HttpReplayMissError) as info:
        run_in(path, agent(0.1, "rain?"))
    text = str(info.value)
    assert "Closest recorded requests:\n  - POST http://127.0.0.1/echo" in text
    assert "$.body.messages[0].content: recorded 'weather?', requested 'rain?'" in text
    assert info.value.closest[0]["differs_at"] == ["$.body.messages[0].content"]  # type: ignore[attr-defined]


def test_a_pruned_field_that_spells_nan_does_not_change_the_key() -> None:
    # NaN/Infinity keep the key apart from null, decided on what is compared, not on the bytes
    canon = Canonicalizer(["$.user"])
    key = canon.canonical("POST", "http://x/v1", b'{"user":"bob","temperature":1e-05}').key
    spelled = b'{"user":"NaNa Infinity","temperature":1e-05}'
    assert canon.canonical("POST", "http://x/v1", spelled).key == key
    nan = canon.canonical("POST", "http://x/v1", b'{"t":NaN}').key
    assert nan != canon.canonical("POST", "http://x/v1", b'{"t":null}').key


def test_ids_past_64_bits_keep_requests_apart_in_replay(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    # orjson reads 123456789012345678901 and ...902 as one float: the replay key must not
    ids = [123456789012345678901, 123456789012345678902, -9223372036854775809]

    def agent(order: list[int]) -> Any:
        def call() -> Any:
            with httpx.Client() as client:
                sent = [client.post(f"{llm_server.url}/echo", json={"order": i}) for i in order]
                return [r.json()["echo"]["order"] for r in sent]

        return call

    path = tmp_path / "c.json"
    assert run_in(path, agent(ids), Mode.RECORD).output == ids
    llm_server.stop()
    backwards = run_in(path, agent(ids[::-1]))
    assert outcomes(backwards) == ["replayed"] * 3
    assert backwards.output == ids[::-1]  # each request got its own recorded answer


def test_an_id_past_64_bits_is_keyed_and_shown_exactly() -> None:
    canon = Canonicalizer()
    first = canon.canonical("POST", "http://x/v1", b'{"id": 123456789012345678901}')
    second = canon.canonical("POST", "http://x/v1", b'{"id":123456789012345678902}')
    assert first.key != second.key
    assert first.view()["body"] == {"id": 123456789012345678901}
    same = canon.canonical("POST", "http://x/v1", b'{ "id" : 123456789012345678901 }')
    assert same.key == first.key
    # a float that large stays a float, and a string of digits stays a string
    big = canon.canonical("POST", "http://x/v1", b'{"id": 1.2345678901234568e+20}')
    assert big.key != first.key
    assert big.view()["body"] == {"id": 1.2345678901234568e20}
    text = canon.canonical("POST", "http://x/v1", b'{"id": "123456789012345678901"}')
    assert text.view()["body"] == {"id": "123456789012345678901"}
