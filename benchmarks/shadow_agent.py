"""The agent bench_shadow shadows: multi-turn, tool-calling and streaming, on the real openai SDK.

Turn 1 streams a tool call (``propose_post``, its arguments split over SSE chunks), the agent
runs a tool on them (``pick_tags``, an opsladder ``@tool``: answered from the baseline in
shadow mode), and turn 2 sends the tool's result back for the final summary. The same agent
comes sync (``StreamingAgent``, for threads) and async (``AsyncStreamingAgent``, for tasks).
The sync agent can take ``tool_rounds`` such streamed tool calls before the final turn (a
longer conversation: ``tool_rounds + 1`` model calls a case, each with the history so far).
Not a benchmark itself (run_all runs ``bench_*.py`` only); bench_shadow and the pytest
project it writes for ``--opsladder-workers`` import it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai

from pytest_opsladder import tool
from pytest_opsladder.demo.agent import PROPOSE_POST

SYSTEM = "Turn the note into a post: call propose_post with a title, a summary and tags."
TURNS = 2  # model calls per case


@tool
def pick_tags(proposed: list[str]) -> list[str]:
    """The site's tags for the proposed ones (a tool with a result the model reads back)."""
    return sorted({t.strip().lower() for t in proposed if t.strip()})[:3]


def note(i: int) -> dict[str, str]:
    tags = ["python", "ops", "observability", "testing", "llm"][: 1 + i % 5]
    return {"note": f"# Note {i}\nBody of note {i}. Second sentence.\nTags: {', '.join(tags)}"}


def demo_note(i: int) -> dict[str, str]:
    """A case input of the shipped demo agent (bench_shadow parts 1 and 3)."""
    return {**note(i), "source": f"notes/{i}.md"}


def _first_turn(case_input: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": case_input["note"]}]


def _tool_turn(call_id: str, arguments: str, tags: list[str]) -> list[dict[str, Any]]:
    call = {"id": call_id, "type": "function",
            "function": {"name": "propose_post", "arguments": arguments}}  # fmt: skip
    return [{"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call_id, "content": json.dumps(tags)}]  # fmt: skip


def _take(chunk: Any, parts: list[str], ids: list[str]) -> None:
    for choice in chunk.choices:
        for call in choice.delta.tool_calls or []:
            ids.append(call.id or "")
            parts.append(call.function.arguments or "" if call.function else "")


class StreamingAgent:
    """Sync: one shared ``openai.OpenAI`` client (thread-safe), as an app would hold it."""

    def __init__(self, base_url: str, model: str = "demo-model", tool_rounds: int = 1) -> None:
        self.client = openai.OpenAI(base_url=base_url, api_key="demo", max_retries=0)
        self.model = model
        self.tool_rounds = tool_rounds

    def __call__(self, case_input: dict[str, Any]) -> dict[str, Any]:
        messages = _first_turn(case_input)
        for _ in range(self.tool_rounds):
            arguments, call_id = self._streamed_tool_call(messages)
            post = json.loads(arguments)
            tags = pick_tags(post["tags"])
            messages += _tool_turn(call_id, arguments, tags)
        final = self.client.chat.completions.create(
            model=self.model,
            seed=7,
            messages=messages,  # type: ignore[arg-type]
        )
        return {"title": post["title"], "tags": tags, "summary": final.choices[0].message.content}

    def _streamed_tool_call(self, messages: list[dict[str, Any]]) -> tuple[str, str]:
        parts: list[str] = []
        ids: list[str] = []
        stream = self.client.chat.completions.create(
            model=self.model, seed=7, messages=messages,  # type: ignore[arg-type]
            tools=[PROPOSE_POST], stream=True,  # type: ignore[list-item]
        )  # fmt: skip
        for chunk in stream:
            _take(chunk, parts, ids)
        return "".join(parts), next(i for i in ids if i)


class AsyncStreamingAgent:
    """The same agent on ``openai.AsyncOpenAI``, for asyncio tasks. No keep-alive: each
    measured shape runs its own event loop, and a pooled connection must not outlive it."""

    def __init__(self, base_url: str, model: str = "demo-model") -> None:
        no_pool = openai.DefaultAsyncHttpxClient(limits=httpx.Limits(max_keepalive_connections=0))
        self.client = openai.AsyncOpenAI(
            base_url=base_url, api_key="demo", max_retries=0, http_client=no_pool
        )
        self.model = model

    async def __call__(self, case_input: dict[str, Any]) -> dict[str, Any]:
        messages = _first_turn(case_input)
        parts: list[str] = []
        ids: list[str] = []
        stream = await self.client.chat.completions.create(
            model=self.model, seed=7, messages=messages,  # type: ignore[arg-type]
            tools=[PROPOSE_POST], stream=True,  # type: ignore[list-item]
        )  # fmt: skip
        async for chunk in stream:
            _take(chunk, parts, ids)
        arguments = "".join(parts)
        post = json.loads(arguments)
        tags = pick_tags(post["tags"])
        messages += _tool_turn(next(i for i in ids if i), arguments, tags)
        final = await self.client.chat.completions.create(
            model=self.model,
            seed=7,
            messages=messages,  # type: ignore[arg-type]
        )
        return {"title": post["title"], "tags": tags, "summary": final.choices[0].message.content}
