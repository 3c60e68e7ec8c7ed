"""Fixtures of ladder level 3: an isolated run on a hand-moved clock, and in-memory OTel."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_opsladder.capture.boundary import ToolBoundary
from pytest_opsladder.capture.run import Run, activate
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.schedule.clock import ManualClock


@dataclass
class TelemetryKit:
    """A run (its clock is ``clock``) made current for the test, and its exports."""

    run: Run
    clock: ManualClock

    def lines(self) -> list[dict[str, Any]]:
        import json

        from pytest_opsladder.observability.export import write_jsonl

        out = io.StringIO()
        write_jsonl([self.run], out)
        return [json.loads(line) for line in out.getvalue().splitlines()]

    def metrics(self) -> dict[str, Any]:
        from pytest_opsladder.observability.metrics import Metrics

        return Metrics().add(self.run).to_dict()


@pytest.fixture
def opsladder_telemetry() -> Iterator[TelemetryKit]:
    """A fresh run, current for the test, timed by a ManualClock (advance it between calls)."""
    clock = ManualClock(0.0)
    run = Run(Case("telemetry"), Variant("test", model="test-model"), clock=clock)
    run.boundary = ToolBoundary()
    with activate(run):
        yield TelemetryKit(run, clock)


@dataclass
class OtelKit:
    tracer_provider: Any
    meter_provider: Any
    spans: Any  # InMemorySpanExporter
    reader: Any  # InMemoryMetricReader


@pytest.fixture
def opsladder_otel() -> Iterator[OtelKit]:
    """OpenTelemetry SDK providers that keep spans and metrics in memory (needs the otel extra)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[reader])
    yield OtelKit(tracer_provider, meter_provider, spans, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()
