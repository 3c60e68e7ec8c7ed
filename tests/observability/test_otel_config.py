"""enable_otel_export checks what it is given, and an exporter failing at export time never
breaks capture(): the run is recorded, the failure is logged once."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.capture.production import capture
from pytest_opsladder.observability.errors import ObservabilityConfigError
from pytest_opsladder.observability.otel import disable_otel_export, enable_otel_export


@pytest.fixture(autouse=True)
def _no_export_left_behind() -> Iterator[None]:
    yield
    disable_otel_export()


def stored_runs(store: Path) -> list[dict[str, Any]]:
    files = sorted(p for p in store.glob("*/*.json"))
    return [json.loads(p.read_text())["run"] for p in files]


def capture_one(store: Path, case_id: str) -> None:
    with capture(case_id, "prod", store) as run:
        run.output = f"answer {case_id}"


def test_an_endpoint_url_is_refused_at_the_call_and_capture_keeps_working(
    tmp_path: Path,
) -> None:
    with pytest.raises(ObservabilityConfigError) as info:
        enable_otel_export("http://localhost:4318")
    message = str(info.value)
    assert "enable_otel_export(tracer_provider='http://localhost:4318')" in message
    assert "TracerProvider()" in message  # what is accepted
    assert "OTLPSpanExporter(endpoint=" in message  # how to reach that endpoint
    assert info.value.argument == "tracer_provider"
    capture_one(tmp_path, "after-refusal")
    [run] = stored_runs(tmp_path)
    assert run["status"] == "complete"
    assert run["output"] == "answer after-refusal"


def test_a_url_with_a_credential_is_masked_in_the_message() -> None:
    with pytest.raises(ObservabilityConfigError) as info:
        enable_otel_export(meter_provider="https://user:hunter2secret@collector:4318")
    assert "hunter2secret" not in str(info.value)
    assert "enable_otel_export(meter_provider=" in str(info.value)


def _wrong_values() -> list[tuple[str, Any, str]]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    return [
        ("tracer_provider", TracerProvider, "Pass an instance: TracerProvider(...)"),
        ("tracer_provider", InMemorySpanExporter(), "BatchSpanProcessor(exporter)"),
        ("tracer_provider", MeterProvider(), "pass it as meter_provider="),
        ("meter_provider", TracerProvider(), "pass it as tracer_provider="),
        ("tracer_provider", Path("otel.json"), "An endpoint URL is not accepted"),
        ("meter_provider", 4318, "Pass the provider your OpenTelemetry setup built"),
    ]


@pytest.mark.parametrize(("argument", "value", "fix"), _wrong_values())
def test_each_wrong_provider_is_named_with_its_fix(
    tmp_path: Path, argument: str, value: Any, fix: str
) -> None:
    with pytest.raises(ObservabilityConfigError) as info:
        enable_otel_export(**{argument: value})
    assert f"enable_otel_export({argument}=" in str(info.value)
    assert fix in str(info.value)
    capture_one(tmp_path, "still-recorded")
    assert [r["status"] for r in stored_runs(tmp_path)] == ["complete"]


def _broken_processor() -> Any:
    """A span processor whose export raises: the fault a broken collector client causes."""
    from opentelemetry.sdk.trace import SpanProcessor

    class BrokenProcessor(SpanProcessor):
        def on_end(self, span: Any) -> None:
            raise ConnectionRefusedError("collector at 127.0.0.1:4318 refused the connection")

    return BrokenProcessor()


def test_an_export_failing_at_run_end_is_logged_once_and_every_run_is_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    provider.add_span_processor(_broken_processor())
    enable_otel_export(provider)
    with caplog.at_level(logging.WARNING, logger="pytest_opsladder.observability"):
        for case_id in ("t1", "t2", "t3"):
            capture_one(tmp_path, case_id)
    runs = stored_runs(tmp_path)
    assert sorted(r["case"]["id"] for r in runs) == ["t1", "t2", "t3"]
    assert {r["status"] for r in runs} == {"complete"}
    [record] = caplog.records
    assert "OpenTelemetry export of run" in record.getMessage()
    assert "ConnectionRefusedError" in record.getMessage()
    assert "the run itself was recorded" in record.getMessage()


def test_without_the_otel_extra_the_call_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)  # as if not installed
    with pytest.raises(ObservabilityConfigError, match=r"pytest-opsladder\[otel\]"):
        enable_otel_export()
    capture_one(tmp_path, "no-otel")
    assert [r["status"] for r in stored_runs(tmp_path)] == ["complete"]
