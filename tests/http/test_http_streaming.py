"""Chunk-faithful streaming: the real openai (sync, async) and anthropic SDKs over SSE."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anthropic
import openai
from llm_servers import LLMServer

from pytest_opsladder.capture.recorder import RunRecorder
from pytest_opsladder.capture.run import Run
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cassette import files
from pytest_opsladder.modes import Mode, RecordMode

VARIANT = Variant("prod", model="m1")
MESSAGES: Any = [{"role": "user", "content": "stream please"}]


def run_in(path: Path, fn: Any, mode: Mode, **opts: Any) -> Run:
    record_mode = RecordMode.ONCE if mode is Mode.RECORD else RecordMode.NONE
    with RunRecorder(
        Case("s1"), VARIANT, path, mode=mode, record_mode=record_mode, options=opts
    ) as run:
        run.output = fn()
    return run


def openai_sync(url: str) -> list[str]:
    with openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0) as client:
        stream = client.chat.completions.create(model="m1", messages=MESSAGES, stream=True)
        return [chunk.choices[0].delta.content or "" for chunk in stream]


def openai_async(url: str) -> list[str]:
    async def main() -> list[str]:
        async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="m1", messages=MESSAGES, stream=True
            )
            return [chunk.choices[0].delta.content or "" async for chunk in stream]

    return asyncio.run(main())


def anthropic_sync(url: str) -> list[str]:
    with (
        anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as client,
        client.messages.stream(model="c1", max_tokens=50, messages=MESSAGES) as stream,
    ):
        return [event.type for event in stream] + [stream.get_final_message().content[0].text]


def anthropic_async(url: str) -> list[str]:
    async def main() -> list[str]:
        async with (
            anthropic.AsyncAnthropic(base_url=url, api_key="k", max_retries=0) as client,
            client.messages.stream(model="c1", max_tokens=50, messages=MESSAGES) as s,
        ):
            events = [event.type async for event in s]
            return [*events, (await s.get_final_message()).content[0].text]

    return asyncio.run(main())


def chunks_of(run: Run) -> list[int]:
    return [e.data["chunks"] for e in run.events_of("http")]


def test_streams_replay_with_the_same_outputs_and_chunks(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    agents = [openai_sync, openai_async, anthropic_sync, anthropic_async]
    url = llm_server.url
    recorded = {
        fn.__name__: run_in(tmp_path / f"{fn.__name__}.json", lambda f=fn: f(url), Mode.RECORD)
        for fn in agents
    }
    llm_server.stop()
    for fn in agents:
        path = tmp_path / f"{fn.__name__}.json"
        replayed = run_in(path, lambda f=fn: f(llm_server.url), Mode.REPLAY)
        assert replayed.output == recorded[fn.__name__].output, fn.__name__
        assert chunks_of(replayed) == chunks_of(recorded[fn.__name__]), fn.__name__
        assert chunks_of(replayed)[0] >= 7  # one chunk per SSE event, not one joined block


def test_stream_chunks_are_stored_readably_with_relative_times(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "s.json"
    run_in(path, lambda: openai_sync(llm_server.url), Mode.RECORD)
    response = files.load(path).http[0]["response"]
    assert response["headers"]["content-type"] == ["text/event-stream"]
    assert response["chunks"][-1]["text"] == "data: [DONE]\n\n"
    times = [c["t"] for c in response["chunks"]]
    assert times == sorted(times)


def test_replay_at_recorded_speed_scaled_by_a_factor(llm_server: LLMServer, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    run_in(path, lambda: openai_sync(llm_server.url), Mode.RECORD)
    stored = [c["t"] for c in files.load(path).http[0]["response"]["chunks"]]
    slept: list[float] = []
    run_in(
        path,
        lambda: openai_sync(llm_server.url),
        Mode.REPLAY,
        stream_timing=2.0,
        stream_sleep=slept.append,
    )
    gaps = [b - a for a, b in zip([0.0, *stored], stored, strict=False)]
    assert sum(slept) == sum(2.0 * g for g in gaps if g > 0)
    instant: list[float] = []
    run_in(path, lambda: openai_sync(llm_server.url), Mode.REPLAY, stream_sleep=instant.append)
    assert instant == []
