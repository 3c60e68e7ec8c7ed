"""What :func:`~pytest_opsladder.observability.otel.enable_otel_export` accepts, checked when it
is called (ladder level 3), and failures at export time reported once instead of raised.

An exporter watches runs; it never decides how one ends. A wrong argument is refused at the call
that set it up, naming what was given and what works; a provider that fails later (a collector
down, a processor that raises) is logged once per kind of failure and the run is still recorded.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pytest_opsladder.observability.errors import ObservabilityConfigError
from pytest_opsladder.observability.redaction import redact_text

LOG = logging.getLogger("pytest_opsladder.observability")

# (argument, the method a provider of that kind has, what to construct)
_ROLES = {
    "tracer_provider": ("get_tracer", "opentelemetry.sdk.trace.TracerProvider()"),
    "meter_provider": ("get_meter", "opentelemetry.sdk.metrics.MeterProvider(...)"),
}
_OTLP_HINT = (
    "To send to an OTLP endpoint, build the provider with its exporter "
    "(pip install opentelemetry-exporter-otlp-proto-http): provider = TracerProvider(); "
    "provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=URL + "
    "'/v1/traces'))); enable_otel_export(provider). Or configure the global provider "
    "(OTEL_EXPORTER_OTLP_ENDPOINT with opentelemetry-instrument) and call enable_otel_export()."
)


def require_otel(call: str) -> None:
    """Refuse ``call`` now, not at every run's end, when the ``otel`` extra is missing."""
    try:
        import opentelemetry.trace  # noqa: F401  (only checking it imports)
    except ImportError as exc:
        raise ObservabilityConfigError(
            f"{call}: OpenTelemetry is not installed ({exc}). "
            "Install it with: pip install 'pytest-opsladder[otel]'.",
            argument="opentelemetry",
            given=None,
        ) from exc


def check_provider(call: str, argument: str, value: Any) -> None:
    """Raise :class:`ObservabilityConfigError` unless ``value`` is None or a provider."""
    method, build = _ROLES[argument]
    if value is None or (callable(getattr(value, method, None)) and not isinstance(value, type)):
        return
    given = redact_text(repr(value))[:200]
    raise ObservabilityConfigError(
        f"{call}({argument}={given}): {_what(value, method)}. Accepted: an OpenTelemetry "
        f"provider instance (an object with {method}(), e.g. {build}) or None for the global "
        f"one. {_fix(value, argument)}",
        argument=argument,
        given=value,
    )


def _what(value: Any, method: str) -> str:
    if isinstance(value, type):
        return f"the class {value.__name__} was given, not an instance of it"
    return f"a {type(value).__name__} has no {method}()"


def _fix(value: Any, argument: str) -> str:
    if isinstance(value, (str, bytes)) or hasattr(value, "__fspath__"):
        return f"An endpoint URL is not accepted. {_OTLP_HINT}"
    if isinstance(value, type):
        return f"Pass an instance: {value.__name__}(...)."
    if callable(getattr(value, "export", None)):
        return (
            "This looks like an exporter: wrap it in a provider, e.g. provider = "
            "TracerProvider(); provider.add_span_processor(BatchSpanProcessor(exporter))."
        )
    other = "meter_provider" if argument == "tracer_provider" else "tracer_provider"
    if callable(getattr(value, _ROLES[other][0], None)):
        return f"This is a {other.replace('_', ' ')}: pass it as {other}=."
    return "Pass the provider your OpenTelemetry setup built."


class ExportFailures:
    """Logs the first failure of each kind (exception type) at WARNING, counts the rest."""

    def __init__(self, sink: str) -> None:
        self.sink = sink
        self.count = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def report(self, run_id: str, exc: Exception) -> None:
        kind = type(exc).__name__
        with self._lock:
            self.count += 1
            first = kind not in self._seen
            self._seen.add(kind)
        if first:
            LOG.warning(
                "%s of run %s failed (%s: %s); the run itself was recorded. Check the provider "
                "given to enable_otel_export(); further %s failures of this export are not "
                "reported again.",
                self.sink,
                run_id,
                kind,
                redact_text(str(exc))[:300],
                kind,
            )
