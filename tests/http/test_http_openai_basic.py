"""Priority 1: record and replay the real openai SDK (non-streaming) inside a run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from llm_servers import LLMServer

from pytest_opsladder.capture.recorder import RunRecorder
from pytest_opsladder.capture.run import Run
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cassette import files
from pytest_opsladder.exceptions import HttpReplayMissError
from pytest_opsladder.modes import Mode, RecordMode

VARIANT = Variant("prod", model="m1")


def ask(base_url: str, question: str) -> str:
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key="test-key", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="m1", messages=[{"role": "user", "content": question}], user="u-123"
        )
    return reply.choices[0].message.content or ""


def record(path: Path, fn: Any, mode: RecordMode = RecordMode.ONCE, **opts: Any) -> Run:
    recorder = RunRecorder(
        Case("c1"), VARIANT, path, mode=Mode.RECORD, record_mode=mode, options=opts
    )
    with recorder as run:
        run.output = fn()
    return run


def replay(path: Path, fn: Any, **opts: Any) -> Run:
    with RunRecorder(Case("c1"), VARIANT, path, mode=Mode.REPLAY, options=opts) as run:
        run.output = fn()
    return run


def outcomes(run: Run) -> list[str]:
    return [e.data["outcome"] for e in run.events_of("http")]


def test_openai_records_then_replays_with_the_server_stopped(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "c1.json"
    url = llm_server.url
    recorded = record(path, lambda: [ask(url, "hello"), ask(url, "again")])
    assert outcomes(recorded) == ["recorded", "recorded"]
    assert len(files.load(path).http) == 2
    llm_server.stop()
    replayed = replay(path, lambda: [ask(url, "hello"), ask(url, "again")])
    assert replayed.output == recorded.output
    assert outcomes(replayed) == ["replayed", "replayed"]
    assert replayed.extra["http"] == {"replayed": 2, "recorded": 0, "live": 0, "blocked": 0}


def test_replay_ignores_the_port_and_volatile_user_field(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "c1.json"
    recorded = record(path, lambda: ask(llm_server.url, "hello"))
    llm_server.stop()
    other_port = LLMServer()  # a fresh port: the replay must still match
    other_port.server_close()
    assert replay(path, lambda: ask(other_port.url, "hello")).output == recorded.output


def test_an_unrecorded_request_is_blocked_with_the_closest_diff(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "c1.json"
    record(path, lambda: ask(llm_server.url, "hello"))
    llm_server.stop()
    with pytest.raises(HttpReplayMissError) as info:
        replay(path, lambda: ask(llm_server.url, "goodbye"))
    assert "$.body.messages[0].content: recorded 'hello', requested 'goodbye'" in str(info.value)
    run = files.load(path)
    assert run.status.value == "complete"  # the recorded cassette is untouched


def test_new_episodes_adds_unrecorded_interactions_to_a_replayed_run(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "c1.json"
    url = llm_server.url
    record(path, lambda: ask(url, "hello"))
    run = record(path, lambda: [ask(url, "hello"), ask(url, "new")], RecordMode.NEW_EPISODES)
    assert outcomes(run) == ["replayed", "recorded"]
    assert run.extra["http_new_episodes"] is True
    llm_server.stop()
    saved = files.load(path)
    assert [i["request"]["body"]["text"].count("new") for i in saved.http] == [0, 1]
    again = replay(path, lambda: [ask(url, "hello"), ask(url, "new")])
    assert outcomes(again) == ["replayed", "replayed"]


def openai_async(url: str) -> str:
    async def main() -> str:
        async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0) as c:
            reply = await c.chat.completions.create(
                model="m1", messages=[{"role": "user", "content": "async"}]
            )
            return reply.choices[0].message.content or ""

    return asyncio.run(main())


def anthropic_sync(url: str) -> str:
    with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as client:
        message = client.messages.create(
            model="c1", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
        )
    block = message.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    return block.text


def anthropic_async(url: str) -> str:
    async def main() -> str:
        async with anthropic.AsyncAnthropic(base_url=url, api_key="k", max_retries=0) as c:
            message = await c.messages.create(
                model="c1", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
            )
        block = message.content[0]
        assert isinstance(block, anthropic.types.TextBlock)
        return block.text

    return asyncio.run(main())


@pytest.mark.parametrize("agent", [openai_async, anthropic_sync, anthropic_async])
def test_non_streaming_sdks_sync_and_async_replay_offline(
    llm_server: LLMServer, tmp_path: Path, agent: Any
) -> None:
    path = tmp_path / "c1.json"
    url = llm_server.url
    recorded = record(path, lambda: agent(url))
    llm_server.stop()
    replayed = replay(path, lambda: agent(url))
    assert replayed.output == recorded.output
    assert recorded.output
    assert outcomes(replayed) == ["replayed"]
