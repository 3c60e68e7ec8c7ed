"""Context (run id, step) reaches thread-pool and asyncio children (ladder level 3)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from pytest_opsladder import tool
from pytest_opsladder.capture.context import (
    _ORIGINAL_SUBMIT,
    propagate_to_threads,
    stop_propagating_to_threads,
)
from pytest_opsladder.observability import current_context, step
from pytest_opsladder.observability.fixtures import TelemetryKit


@tool
def lookup(n: int) -> int:
    return n * 2


def child(n: int) -> dict[str, object]:
    with step(f"child{n}"):
        lookup(n)
        return current_context()


@pytest.fixture
def thread_context() -> Iterator[None]:
    """Propagation on (the plugin turns it on by default); left as it was found."""
    was_on = ThreadPoolExecutor.submit is not _ORIGINAL_SUBMIT
    propagate_to_threads()
    yield
    if not was_on:
        stop_propagating_to_threads()


def test_thread_pool_workers_see_the_run_and_the_step(
    opsladder_telemetry: TelemetryKit, thread_context: None
) -> None:
    run = opsladder_telemetry.run
    with step("fan_out") as parent, ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(child, range(8)))
    assert {c["run_id"] for c in seen} == {run.run_id}
    assert sorted(str(c["step"]) for c in seen) == [f"fan_out/child{n}" for n in range(8)]
    assert len(run.events_of("tool_call")) == 8
    steps = {e.name: e.data for e in run.events_of("step")}
    assert all(steps[f"child{n}"]["parent_span_id"] == parent.span_id for n in range(8))


def test_asyncio_tasks_see_the_run_and_the_step(opsladder_telemetry: TelemetryKit) -> None:
    run = opsladder_telemetry.run

    async def task(n: int) -> dict[str, object]:
        await asyncio.sleep(0)
        return child(n)

    async def main() -> list[dict[str, object]]:
        with step("gather"):
            return await asyncio.gather(*(task(n) for n in range(5)))

    seen = asyncio.run(main())
    assert {c["run_id"] for c in seen} == {run.run_id}
    assert sorted(str(c["step"]) for c in seen) == [f"gather/child{n}" for n in range(5)]
    assert len(run.events_of("tool_call")) == 5


def test_outside_a_run_the_context_is_empty() -> None:
    assert current_context() == {"run_id": None, "step": None, "span_id": None}
    with step("alone") as ctx:
        assert current_context()["step"] == "alone"
        assert ctx.parent_span_id is None


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_the_fixtures_work_in_a_users_suite(pytester: pytest.Pytester, xdist: list[str]) -> None:
    pytester.makepyfile(
        """
        from pytest_opsladder import tool
        from pytest_opsladder.observability import step

        @tool
        def ping(host):
            return "pong"

        def test_events(opsladder_telemetry):
            with step("check"):
                opsladder_telemetry.clock.advance(2)
                ping("db")
            lines = opsladder_telemetry.lines()
            assert [l["kind"] for l in lines[1:]] == ["tool_call", "step"]
            assert lines[2]["duration_s"] == 2.0

        def test_otel(opsladder_telemetry, opsladder_otel):
            from pytest_opsladder.observability.otel import export_run
            ping("x")
            export_run(opsladder_telemetry.run, opsladder_otel.tracer_provider)
            names = [s.name for s in opsladder_otel.spans.get_finished_spans()]
            assert names == ["execute_tool ping", "invoke_agent test"]
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", *xdist)
    result.assert_outcomes(passed=2)


def test_retrying_refuses_zero_attempts() -> None:
    from pytest_opsladder.exceptions import ConfigError
    from pytest_opsladder.observability import retrying

    with pytest.raises(ConfigError, match="attempts=0 must be a whole number >= 1"):
        retrying(lambda: None, name="x", attempts=0)
