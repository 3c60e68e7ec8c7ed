"""Fixtures of the HTTP recording tests: loopback LLM servers, stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llm_servers import LLMServer


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """An OpenAI/Anthropic-compatible server on a free loopback port."""
    server = LLMServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fallback(llm_server: LLMServer) -> LLMServer:
    """The model an agent falls back to when its primary fails (the same loopback server)."""
    return llm_server
