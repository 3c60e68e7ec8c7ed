"""Metrics derived from a run's events: one flat dict per run (ladder levels 0 and 3).

The metrics table that drift scoring and reports read is one row of these per run. Rungs add
their own metric with :func:`register_metric`; a metric function that raises records ``None``
and the error under ``metric_errors`` rather than losing the run. ``None`` means missing (NaN in
the table), never zero: a gate must not pass what it cannot see.

Metrics are derived on read: :func:`compute_metrics` runs when a run ends and again when its
cassette is loaded for scoring, so a metric registered today applies to last year's baselines.
A **bookkeeping** metric (``http_*`` request counts, anything registered with
``bookkeeping=True``) differs between modes by construction; it is provenance, never tested.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.run import on_run_end

if TYPE_CHECKING:
    from pytest_opsladder.capture.events import Event
    from pytest_opsladder.capture.run import Run

MetricFn = Callable[["Run"], Any]
ProviderFn = Callable[["Run"], dict[str, Any]]
_METRICS: dict[str, MetricFn] = {}
_PROVIDERS: list[ProviderFn] = []
_BOOKKEEPING: set[str] = set()
# Counters that differ between record, replay and shadow by construction (see DESIGN.md).
BOOKKEEPING_PREFIXES = ("http_",)


def register_metric(name: str, *, bookkeeping: bool = False) -> Callable[[MetricFn], MetricFn]:
    """Decorator: ``fn(run) -> number | str | None`` becomes a column of the metrics table.

    ``bookkeeping=True``: the value is provenance (kept, shown, never tested or plotted).
    """

    def deco(fn: MetricFn) -> MetricFn:
        _METRICS[name] = fn
        if bookkeeping:
            _BOOKKEEPING.add(name)
        return fn

    return deco


def mark_bookkeeping(name: str) -> None:
    """Declare an existing metric (or a hook's metric name) bookkeeping."""
    _BOOKKEEPING.add(name)


def is_bookkeeping(name: str) -> bool:
    return name in _BOOKKEEPING or name.startswith(BOOKKEEPING_PREFIXES)


def register_metrics_provider(provider: ProviderFn) -> Callable[[], None]:
    """Add ``provider(run) -> {name: value}`` (several metrics at once, e.g. the pytest hook
    ``pytest_opsladder_run_metrics``); returns a function that removes it."""
    _PROVIDERS.append(provider)
    return lambda: _PROVIDERS.remove(provider) if provider in _PROVIDERS else None


def known_metrics() -> list[str]:
    """Every registered metric that is tested (bookkeeping left out)."""
    return sorted(name for name in _METRICS if not is_bookkeeping(name))


def compute_metrics(run: Run) -> dict[str, Any]:
    from pytest_opsladder.capture.llm import sync_llm_events

    sync_llm_events(run)  # derived LLM calls first: the token metrics read them
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
    return {name: _missing_if_not_finite(value) for name, value in out.items()}


def _missing_if_not_finite(value: Any) -> Any:
    """NaN or Infinity (a metric that could not be measured) is written as None: a cassette is
    JSON, which has neither, and the schema refuses them on load."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _count(kind: str) -> MetricFn:
    return lambda run: sum(1 for e in run.events if e.kind == kind)


def _seen_llm_calls(run: Run) -> list[Event] | None:
    """The run's LLM calls; unknown (None) when it recorded none though its variant names a
    model: a call the recorder could not see (made from a thread the run's context did not
    reach, over a transport it does not patch) was not a call never made, and its 0 tokens
    would pass any cost gate."""
    calls = run.events_of(ev.LLM_CALL)
    return None if not calls and run.variant.model else calls


def _llm_calls(run: Run) -> int | None:
    calls = _seen_llm_calls(run)
    return None if calls is None else len(calls)


def _usage_sum(*keys: str) -> MetricFn:
    """Tokens over the run's LLM calls; missing (None) if any call's count is unknown, or if
    no call was seen where one was expected (see :func:`_seen_llm_calls`)."""

    def total(run: Run) -> int | None:
        calls = _seen_llm_calls(run)
        if calls is None:
            return None
        sum_ = 0
        for event in calls:
            usage = event.data.get("usage") or {}
            value = next((usage[k] for k in keys if isinstance(usage.get(k), int | float)), None)
            if value is None:
                return None
            sum_ += int(value)
        return sum_

    return total


register_metric("tool_calls")(_count(ev.TOOL_CALL))
register_metric("llm_calls")(_llm_calls)
register_metric("decisions")(_count(ev.DECISION))
register_metric("retries")(_count(ev.RETRY))
register_metric("errors")(_count(ev.ERROR))
register_metric("tokens_in")(_usage_sum("input_tokens", "prompt_tokens"))
register_metric("tokens_out")(_usage_sum("output_tokens", "completion_tokens"))

AGENT_SECONDS = "agent_s"  # run.extra: how long the agent itself ran (see fixtures.py)


@register_metric("latency_s")
def _latency(run: Run) -> float | None:
    """The agent's own duration (its call, or the test's call phase), not fixture setup."""
    value = run.extra.get(AGENT_SECONDS)
    if value is None:
        value = run.manifest.get("duration_s")
    return float(value) if value is not None else None


@register_metric("tool_errors")
def _tool_errors(run: Run) -> int:
    return sum(1 for e in run.events_of(ev.TOOL_CALL) if "error" in e.data)


@register_metric("trajectory")
def _trajectory(run: Run) -> str:
    return " ".join(e.name for e in run.events_of(ev.TOOL_CALL))


@on_run_end
def _store_metrics(run: Run) -> None:
    """Every finished run carries its metrics."""
    run.metrics = compute_metrics(run)
