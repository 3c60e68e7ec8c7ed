"""OpenTelemetry export following the GenAI semantic conventions (ladder level 3, extra ``otel``).

A run becomes one trace: an ``invoke_agent {agent}`` span, with a child per LLM call named
``{operation} {model}`` (``chat gpt-4.1``), a child per tool call named ``execute_tool {tool}``,
and a child per recorded step. Attributes are the conventions' ``gen_ai.*`` names; token usage
is ``gen_ai.usage.input_tokens`` / ``output_tokens``; failed calls carry ``error.type`` and an
ERROR status. With a meter provider, ``gen_ai.client.operation.duration`` (seconds) and
``gen_ai.client.token.usage`` (by ``gen_ai.token.type``) are recorded too. Everything is
redacted first; tool arguments and results are only exported with ``capture_content=True``.

``opentelemetry-api``/``-sdk`` are imported here only: install ``pytest-opsladder[otel]``.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.run import Run
from pytest_opsladder.observability.context import STEP
from pytest_opsladder.observability.events import error_code
from pytest_opsladder.observability.metrics import token_usage
from pytest_opsladder.observability.otel_config import (
    ExportFailures,
    check_provider,
    require_otel,
)
from pytest_opsladder.observability.redaction import redact, redact_text

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, Tracer, TracerProvider

SCOPE = "pytest_opsladder"


def _ns(run: Run, offset: float) -> int:
    started = dt.datetime.fromisoformat(str(run.manifest["started_at"]).replace("Z", "+00:00"))
    return int((started.timestamp() + offset) * 1e9)


def export_run(
    run: Run,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    *,
    agent_name: str | None = None,
    capture_content: bool = False,
) -> None:
    """Emit ``run`` as spans (and metrics, given a meter provider) through OpenTelemetry."""
    check_providers("export_run", tracer_provider, meter_provider)
    from opentelemetry import trace

    tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
    name = agent_name or run.variant.name
    end = run.manifest.get("duration_s") or max((e.t_end for e in run.events), default=0.0)
    root = tracer.start_span(
        f"invoke_agent {name}", start_time=_ns(run, 0.0), attributes=_agent_attrs(run, name)
    )
    parent = trace.set_span_in_context(root)
    for event in run.events:
        _event_span(tracer, parent, run, event, capture_content)
        _span_event(root, run, event)
    if run.error:
        _fail(root, str(run.error.get("type")), str(run.error.get("message", "")))
    root.end(end_time=_ns(run, float(end)))
    if meter_provider is not None:
        _record_metrics(run, meter_provider)


def _agent_attrs(run: Run, name: str) -> dict[str, Any]:
    attrs = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": name,
        "opsladder.run_id": run.run_id,
        "opsladder.case_id": run.case.id,
        "opsladder.status": run.status.value,
    }
    if run.variant.model:
        attrs["gen_ai.request.model"] = run.variant.model
    return attrs


def _event_span(tracer: Tracer, parent: Any, run: Run, event: ev.Event, content: bool) -> None:
    built = _span_shape(event, content)
    if built is None:
        return
    name, attrs, err = built
    span = tracer.start_span(
        name, context=parent, start_time=_ns(run, event.t_start), attributes=attrs
    )
    if err is not None:
        _fail(span, str(err.get("type", "error")), str(err.get("message", "")))
    span.end(end_time=_ns(run, event.t_end))


def _span_shape(event: ev.Event, content: bool) -> tuple[str, dict[str, Any], Any] | None:
    data = redact(event.data)
    if event.kind == ev.TOOL_CALL:
        attrs = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": event.name,
            "gen_ai.tool.type": "function",
            "gen_ai.tool.call.id": event.call_id or "",
        }
        if content:
            attrs["gen_ai.tool.call.arguments"] = json.dumps(data.get("args"), default=str)
            attrs["gen_ai.tool.call.result"] = json.dumps(data.get("result"), default=str)
        return f"execute_tool {event.name}", attrs, data.get("error")
    if event.kind == ev.LLM_CALL:
        return _llm_shape(event, data)
    if event.kind == STEP:
        return f"step {event.name}", {"opsladder.step.path": str(data.get("path"))}, None
    return None


def _llm_shape(event: ev.Event, data: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
    op = data.get("operation") or "chat"
    model = data.get("request_model") or event.name
    attrs: dict[str, Any] = {"gen_ai.operation.name": op, "gen_ai.request.model": model}
    if data.get("response_model"):
        attrs["gen_ai.response.model"] = data["response_model"]
    if data.get("finish_reason"):
        attrs["gen_ai.response.finish_reasons"] = [str(data["finish_reason"])]
    for kind, tokens in token_usage(data.get("usage") or {}).items():
        attrs[f"gen_ai.usage.{kind}_tokens"] = tokens
    return f"{op} {model}", attrs, data.get("error")


def _span_event(root: Span, run: Run, event: ev.Event) -> None:
    if event.kind == ev.RETRY:
        retry: dict[str, Any] = {
            "opsladder.retry.attempt": int(event.data.get("attempt") or 0),
            "opsladder.retry.name": event.name,
        }
        root.add_event("retry", retry, timestamp=_ns(run, event.t_start))
    elif event.kind == ev.ERROR:
        code = str(event.data.get("code") or error_code(event.name).value)
        message = redact_text(str(event.data.get("message", "")))
        attrs = {"error.type": code, "exception.message": message}
        root.add_event("exception", dict(attrs), timestamp=_ns(run, event.t_start))


def _fail(span: Span, type_name: str, message: str) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("error.type", type_name)
    span.set_status(Status(StatusCode.ERROR, redact_text(message)[:300]))


def _record_metrics(run: Run, provider: MeterProvider) -> None:
    meter = provider.get_meter(SCOPE)
    duration = meter.create_histogram(
        "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration"
    )
    usage = meter.create_histogram(
        "gen_ai.client.token.usage",
        unit="{token}",
        description="Measures number of input and output tokens used",
    )
    for event in run.events_of(ev.LLM_CALL):
        _, attrs, err = _llm_shape(event, event.data)
        base = {k: attrs[k] for k in ("gen_ai.operation.name", "gen_ai.request.model")}
        if "gen_ai.response.model" in attrs:
            base["gen_ai.response.model"] = attrs["gen_ai.response.model"]
        if err:
            base["error.type"] = str(err.get("type"))
        duration.record(event.duration, base)
        for kind, tokens in token_usage(event.data.get("usage") or {}).items():
            usage.record(tokens, {**base, "gen_ai.token.type": kind})


class OtelRunScope(AbstractContextManager["OtelRunScope"]):
    """A run scope that exports the run when it ends (see :func:`enable_otel_export`).

    A failing export is reported through ``failures`` and never raised: the run is recorded
    and the agent goes on whatever the collector does.
    """

    def __init__(
        self, run: Run, tracer_provider: Any, meter_provider: Any, failures: ExportFailures
    ) -> None:
        self.run, self.tracer_provider, self.meter_provider = run, tracer_provider, meter_provider
        self.failures = failures

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None and self.run.error is None:
            self.run.error = {"type": type(exc).__name__, "message": str(exc)}
        try:
            export_run(self.run, self.tracer_provider, self.meter_provider)
        except Exception as failure:  # any exporter fault is reported, never raised
            self.failures.report(self.run.run_id, failure)


def check_providers(call: str, tracer_provider: Any, meter_provider: Any) -> None:
    """Raise ObservabilityConfigError naming the argument that is not a provider."""
    require_otel(call)
    check_provider(call, "tracer_provider", tracer_provider)
    check_provider(call, "meter_provider", meter_provider)


def enable_otel_export(tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Export every run (tests and production ``capture()``) through OpenTelemetry at its end.

    The providers are checked here: anything but a provider instance (or None, the global
    one) raises :class:`~pytest_opsladder.observability.errors.ObservabilityConfigError`
    and nothing is enabled. Failures at export time are logged once per kind, never raised.
    """
    from pytest_opsladder.capture.scopes import register_run_scope

    check_providers("enable_otel_export", tracer_provider, meter_provider)
    failures = ExportFailures("OpenTelemetry export")
    register_run_scope(
        "otel",
        lambda run, _recorded, _plan: OtelRunScope(run, tracer_provider, meter_provider, failures),
    )


def disable_otel_export() -> None:
    """Stop exporting runs (undoes :func:`enable_otel_export`)."""
    from pytest_opsladder.capture import scopes

    scopes._SCOPES.pop("otel", None)  # the registry has no public remover yet
