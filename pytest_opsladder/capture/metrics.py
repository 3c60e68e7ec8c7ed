"""Metrics derived from a run's events: one flat dict per run (ladder levels 0 and 3).

The metrics table that drift scoring and reports read is one row of these per run. Rungs add
their own metric with :func:`register_metric`; a metric function that raises records ``None``
and the error under ``metric_errors`` rather than losing the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture import events as ev

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run

MetricFn = Callable[["Run"], Any]
ProviderFn = Callable[["Run"], dict[str, Any]]
_METRICS: dict[str, MetricFn] = {}
_PROVIDERS: list[ProviderFn] = []


def register_metric(name: str) -> Callable[[MetricFn], MetricFn]:
    """Decorator: ``fn(run) -> number | str | None`` becomes a column of the metrics table."""

    def deco(fn: MetricFn) -> MetricFn:
        _METRICS[name] = fn
        return fn

    return deco


def register_metrics_provider(provider: ProviderFn) -> Callable[[], None]:
    """Add ``provider(run) -> {name: value}`` (several metrics at once, e.g. the pytest hook
    ``pytest_opsladder_run_metrics``); returns a function that removes it."""
    _PROVIDERS.append(provider)
    return lambda: _PROVIDERS.remove(provider) if provider in _PROVIDERS else None


def known_metrics() -> list[str]:
    return sorted(_METRICS)


def compute_metrics(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, fn in _METRICS.items():
        try:
            out[name] = fn(run)
        except Exception as exc:  # a broken metric must not lose the run it measures
            out[name] = None
            errors[name] = f"{type(exc).__name__}: {exc}"
    for provider in list(_PROVIDERS):
        try:
            out.update(provider(run) or {})
        except Exception as exc:  # as above: a broken provider must not lose the run
            errors[getattr(provider, "__name__", "provider")] = f"{type(exc).__name__}: {exc}"
    if errors:
        out["metric_errors"] = errors
    return out


def _count(kind: str) -> MetricFn:
    return lambda run: sum(1 for e in run.events if e.kind == kind)


def _usage_sum(key: str) -> MetricFn:
    def total(run: Run) -> int:
        return sum(
            int((e.data.get("usage") or {}).get(key) or 0) for e in run.events_of(ev.LLM_CALL)
        )

    return total


register_metric("tool_calls")(_count(ev.TOOL_CALL))
register_metric("llm_calls")(_count(ev.LLM_CALL))
register_metric("decisions")(_count(ev.DECISION))
register_metric("retries")(_count(ev.RETRY))
register_metric("errors")(_count(ev.ERROR))
register_metric("tokens_in")(_usage_sum("prompt_tokens"))
register_metric("tokens_out")(_usage_sum("completion_tokens"))


@register_metric("latency_s")
def _latency(run: Run) -> float | None:
    value = run.manifest.get("duration_s")
    return float(value) if value is not None else None


@register_metric("tool_errors")
def _tool_errors(run: Run) -> int:
    return sum(1 for e in run.events_of(ev.TOOL_CALL) if "error" in e.data)


@register_metric("trajectory")
def _trajectory(run: Run) -> str:
    return " ".join(e.name for e in run.events_of(ev.TOOL_CALL))
