"""Judge calls share one SDK client per endpoint and key (making one costs ~50 ms of CPU), and
a shared client survives its judge server going away and coming back (ladder level 7)."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest
from judge_servers import JudgeServer

from pytest_opsladder import _clients, judge
from pytest_opsladder.model_graded import JudgeUnavailableError


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SDK clients made from here on, by class name (the shared ones start empty)."""
    monkeypatch.setattr(_clients, "_CLIENTS", {})
    made: list[str] = []
    for module, name in ((openai, "OpenAI"), (anthropic, "Anthropic")):
        real = getattr(module, name)

        def counting(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            made.append(_real.__name__)
            return _real(*args, **kwargs)

        counting.__name__ = name
        monkeypatch.setattr(module, name, counting)
    return made


def _verdict(url: str, provider: str = "openai") -> Any:
    base = url if provider == "openai" else url.removesuffix("/v1")
    model = {"model": "demo-judge-1", "provider": provider, "base_url": base}
    return judge("One point.", "It is one sentence.", name="x", model=model)


def test_judge_calls_to_one_endpoint_share_one_client(made: list[str]) -> None:
    first, second = JudgeServer().start(), JudgeServer().start()
    try:
        for _ in range(3):
            assert _verdict(first.url).passed
        assert made == ["OpenAI"]
        assert _verdict(second.url).passed  # another endpoint: its own client
        assert _verdict(first.url, "anthropic").score == 1  # another SDK: its own too
        assert made == ["OpenAI", "OpenAI", "Anthropic"]
        assert (first.requests, second.requests) == (4, 1)
    finally:
        first.stop()
        second.stop()


def test_a_shared_client_outlives_its_server_going_down_and_back(made: list[str]) -> None:
    server = JudgeServer().start()
    port = server.server_address[1]
    assert _verdict(server.url).passed  # the client keeps this connection open
    server.stop()
    with pytest.raises(JudgeUnavailableError, match="did not answer"):
        _verdict(server.url)
    again = JudgeServer(port=port).start()
    try:
        assert _verdict(again.url).passed
        assert again.requests == 1
        assert made == ["OpenAI"]
    finally:
        again.stop()
