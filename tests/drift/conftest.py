"""Fixtures of the drift tests: real Run records (capture's own Run class), made to order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from pytest_opsladder.capture.run import Run
from pytest_opsladder.capture.variant import Case, Variant

MakeRun = Callable[..., dict[str, Any]]


class FakeClock:
    """A clock the test advances, so latencies are exact without sleeping."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def build_run(
    case_id: str,
    variant: str,
    *,
    role: str,
    epoch: int = 0,
    passed: bool = True,
    latency: float = 1.0,
    tools: Sequence[str] = ("search", "reply"),
    tokens: tuple[int, int] = (100, 20),
    model: str = "gpt-test",
    output: Any = "done",
    error: Exception | None = None,
    metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A finished Run (events emitted through Run.emit) as ``Run.to_dict()`` plus shadow extras."""
    clock = FakeClock()
    run = Run(
        Case(case_id, {"q": case_id}), Variant(variant, model=model), clock=clock, epoch=epoch
    )
    run.emit(
        "llm_call",
        "chat",
        {"model": model, "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1]}},
    )
    for i, tool in enumerate(tools):
        run.emit("tool_call", tool, {"args": {"i": i}, "result": "ok"}, call_id=f"call_{i}")
    clock.t = latency
    if error is not None:
        run.fail(error)
    else:
        run.finish(output)
    run.metrics.update(metrics or {})
    return {
        **run.to_dict(),
        "role": role,
        "passed": passed,
        "failed_checks": [] if passed else ["contains: refund"],
    }


@pytest.fixture
def make_run() -> MakeRun:
    """Build one run dict (see :func:`build_run`)."""
    return build_run


@pytest.fixture
def paired_runs() -> Callable[..., list[dict[str, Any]]]:
    """Runs of ``n`` cases x ``epochs`` on both sides; ``base``/``cand`` give kwargs per run."""

    def make(
        n: int,
        *,
        epochs: int = 1,
        base: Callable[[int, int], dict[str, Any]] | None = None,
        cand: Callable[[int, int], dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        runs = []
        for i in range(n):
            for e in range(epochs):
                kb = base(i, e) if base else {}
                kc = cand(i, e) if cand else {}
                runs.append(build_run(f"case-{i:03d}", "prod", role="baseline", epoch=e, **kb))
                runs.append(build_run(f"case-{i:03d}", "next", role="candidate", epoch=e, **kc))
        return runs

    return make
