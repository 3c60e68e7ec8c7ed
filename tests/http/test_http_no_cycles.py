"""Recording and replay leave nothing per request for the cyclic collector (level 0, speed).

The recording wrapper calls back into its exchange, which holds the response that holds the
wrapper: until the stream has finished, that is a cycle by design. Once it has finished, the
run must let go, or every request leaves its response, request and connection objects (about
80) in a cycle, and the collector's passes then cost every request of the session (issue 18).
The bar is the client alone: httpx 0.x keeps each response in a cycle of its own, and
asyncio's loop leaves some; a run may add nothing to that.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from http_helpers import run_in
from llm_servers import LLMServer

from pytest_opsladder.modes import Mode

MODULES = [name for name in ("httpx", "httpx2") if importlib.util.find_spec(name)]
BODY = {"model": "m1", "messages": [{"role": "user", "content": "hi"}]}
REQUESTS = 3


def sync_client(mod: Any, url: str, stream: bool) -> int:
    read = 0
    with mod.Client() as client:
        for _ in range(REQUESTS):
            body = {**BODY, "stream": stream}
            with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
                read += len(b"".join(response.iter_bytes()))
    return read


def async_client(mod: Any, url: str, stream: bool) -> int:
    async def main() -> int:
        read = 0
        async with mod.AsyncClient() as client:
            for _ in range(REQUESTS):
                body = {**BODY, "stream": stream}
                response = await client.post(f"{url}/v1/chat/completions", json=body)
                read += len(response.content)
        return read

    return asyncio.run(main())


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def left_in_cycles(fn: Callable[[], Any]) -> int:
    """The objects ``fn()`` leaves in reference cycles (run with the collector off)."""
    gc.collect()
    fn()
    return gc.collect()


@pytest.mark.usefixtures("collector_off")
@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("client", [sync_client, async_client], ids=["sync", "async"])
def test_recording_and_replay_leave_no_cycles_beyond_the_clients_own(
    llm_server: LLMServer, tmp_path: Path, module: str, stream: bool, client: Any
) -> None:
    mod = importlib.import_module(module)
    run_in(tmp_path / "warm-up.json", lambda: client(mod, llm_server.url, stream), Mode.RECORD)
    run_in(tmp_path / "warm-up.json", lambda: client(mod, llm_server.url, stream), Mode.REPLAY)
    alone = left_in_cycles(lambda: client(mod, llm_server.url, stream))  # after every import
    cassette = tmp_path / "run.json"
    for mode in (Mode.RECORD, Mode.REPLAY):
        outcomes: list[str] = []

        def in_a_run(mode: Mode = mode, outcomes: list[str] = outcomes) -> None:
            run = run_in(cassette, lambda: client(mod, llm_server.url, stream), mode)
            assert run.output > 0
            outcomes.extend(e.data["outcome"] for e in run.events_of("http"))

        left = left_in_cycles(in_a_run)
        assert outcomes == ["recorded" if mode is Mode.RECORD else "replayed"] * REQUESTS
        assert left <= alone + in_the_clients_cycle(mod), (
            f"{mode.value}: {left} objects left in cycles, the client alone {alone}"
        )


def in_the_clients_cycle(mod: Any) -> int:
    """httpx 0.x keeps each response in a cycle of its own, and the recording wrapper is the
    response's stream there: that wrapper and its emptied chunk list are in it, per request."""
    return 2 * REQUESTS if mod.__name__ == "httpx" and mod.__version__.startswith("0.") else 0
