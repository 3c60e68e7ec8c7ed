"""Calling the judge model: any OpenAI-compatible server through the openai SDK, or Anthropic.

A judge call is made outside the current run's HTTP recording: its request and reply are kept
in the run as a ``judge`` event instead, so the agent's own LLM usage never includes the
judge's, and the judge's calls replay on their own terms (see :mod:`.grading`).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pytest_opsladder._clients import shared_client
from pytest_opsladder.model_graded.errors import JudgeUnavailableError
from pytest_opsladder.model_graded.spec import JudgeModel, Provider


@dataclass(frozen=True)
class Reply:
    """What the judge answered: its text, token usage and the time it took."""

    text: str
    usage: dict[str, int] = field(default_factory=dict)
    response_model: str | None = None
    duration_s: float = 0.0


@contextlib.contextmanager
def _outside_the_run() -> Iterator[None]:
    """No current run while the judge is called: the run's HTTP recorder lets it pass."""
    from pytest_opsladder.capture.run import _CURRENT

    token = _CURRENT.set(None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def call_judge(model: JudgeModel, messages: list[dict[str, str]], check: str) -> Reply:
    """One live judge call; a connection or HTTP failure is :class:`JudgeUnavailableError`."""
    start = time.perf_counter()
    try:
        with _outside_the_run():
            reply = _CALLERS[model.provider](model, messages)
    except Exception as exc:  # every SDK error type means the same here: no verdict
        raise JudgeUnavailableError(
            f"the judge model {model.model!r} at {model.base_url or 'the SDK default URL'} "
            f"did not answer ({type(exc).__name__}: {exc}). Start the judge server, or fix "
            "the judge's base_url/model.",
            check=check,
        ) from exc
    return Reply(reply.text, reply.usage, reply.response_model, time.perf_counter() - start)


def _api_key(model: JudgeModel, default_env: str) -> str:
    return os.environ.get(model.api_key_env or default_env) or "opsladder-judge"


def _client(sdk: Any, model: JudgeModel, api_key: str) -> Any:
    """One client per SDK, endpoint and key, shared by every judge call: making one costs
    about 50 ms of CPU, which each judged case paid (see :mod:`pytest_opsladder._clients`)."""

    def make() -> Any:
        return sdk(base_url=model.base_url, api_key=api_key, max_retries=1)

    return shared_client(make, "judge", sdk.__name__, model.base_url, api_key)


def _openai(model: JudgeModel, messages: list[dict[str, str]]) -> Reply:
    import openai

    client = _client(openai.OpenAI, model, _api_key(model, "OPENAI_API_KEY"))
    request: dict[str, Any] = {
        "model": model.model,
        "messages": messages,
        "temperature": 0,
        "seed": model.seed,
        "max_tokens": model.max_tokens,
        "response_format": {"type": "json_object"},
    }
    response = client.chat.completions.create(**request)
    usage = response.usage
    tokens = _token_counts(usage.prompt_tokens, usage.completion_tokens) if usage else {}
    return Reply(response.choices[0].message.content or "", tokens, response.model)


def _anthropic(model: JudgeModel, messages: list[dict[str, str]]) -> Reply:
    import anthropic

    client = _client(anthropic.Anthropic, model, _api_key(model, "ANTHROPIC_API_KEY"))
    system = "\n".join(m["content"] for m in messages if m["role"] == "system")
    turns: Any = [m for m in messages if m["role"] != "system"]
    request: dict[str, Any] = {
        "model": model.model,
        "system": system,
        "messages": turns,
        "max_tokens": model.max_tokens,
        "extra_body": {"temperature": 0},  # not a typed argument in every SDK release
    }
    response = client.messages.create(**request)
    text = "".join(getattr(block, "text", "") for block in response.content)
    usage = _token_counts(response.usage.input_tokens, response.usage.output_tokens)
    return Reply(text, usage, response.model)


def _token_counts(input_tokens: Any, output_tokens: Any) -> dict[str, int]:
    """The judge's token counts; one that is not a whole number (a server's NaN or 1e400, which
    the SDKs pass through) is left out, unknown: a cassette is JSON, which has no NaN."""
    counts = {"input": input_tokens, "output": output_tokens}
    return {k: int(v) for k, v in counts.items() if _whole(v)}


def _whole(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return value >= 0 and (isinstance(value, int) or (math.isfinite(value) and value.is_integer()))


_CALLERS = {Provider.OPENAI: _openai, Provider.ANTHROPIC: _anthropic}
