"""Screening untrusted input before it reaches the agent (ladder level 4).

Call :func:`screen_input` on anything that comes from outside (a user message, a fetched page)
or decorate a tool with :func:`screened` to screen its result on the way back to the model. A
denied input raises :class:`InputRejected`; an ``ask`` raises too unless ``on_ask`` says to let
it through marked. Each decision is a ``guardrail_input`` event in the current run.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from pytest_opsladder.capture.run import emit
from pytest_opsladder.guardrails.enforce import GUARDRAIL_INPUT
from pytest_opsladder.guardrails.errors import InputRejected
from pytest_opsladder.guardrails.policy import Policy
from pytest_opsladder.guardrails.verdicts import Decision, Verdict, strictest

F = TypeVar("F", bound=Callable[..., Any])


def screen_input(policy: Policy, text: str, *, source: str, allow_ask: bool = False) -> Decision:
    """Check ``text`` from ``source``; record the decision; raise unless it may pass."""
    if not isinstance(text, str):
        text = str(text)
    found = strictest(policy.inputs.check(text, source))
    decision = found or Decision(Verdict.ALLOW, "input:ok", f"{source!r} passed every restriction")
    emit(GUARDRAIL_INPUT, source, {**decision.to_dict(), "chars": len(text)})
    stop = decision.verdict is Verdict.DENY or (decision.verdict is Verdict.ASK and not allow_ask)
    if stop:
        raise InputRejected(
            f"input from {source!r} refused: {decision.line()}. The agent never saw it.",
            decision=decision,
        )
    return decision


def screened(
    policy: Policy, *, source: str | None = None, allow_ask: bool = False
) -> Callable[[F], F]:
    """Decorator: screen a tool's result (its text form) before the agent reads it.

    Put it above ``@tool`` so it also screens results replayed from a cassette.
    """

    def deco(fn: F) -> F:
        name = source or f"tool:{getattr(fn, '__name__', 'tool')}"
        if inspect.iscoroutinefunction(fn):

            async def ascreen(*args: Any, **kwargs: Any) -> Any:
                result = await fn(*args, **kwargs)
                screen_input(policy, result, source=name, allow_ask=allow_ask)
                return result

            return functools.wraps(fn)(ascreen)  # type: ignore[return-value]

        def screen(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            screen_input(policy, result, source=name, allow_ask=allow_ask)
            return result

        return functools.wraps(fn)(screen)  # type: ignore[return-value]

    return deco
