"""Metrics from runs (ladder level 3): counters and latency histograms per tool and model.

Labels are low-cardinality by construction (tool names, model names, variants, statuses,
:class:`ErrorCode` values): never arguments, messages or ids. Output as JSON or in the
Prometheus text format, so a cron job can push it to a gateway or a file collector.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pytest_opsladder._visible import hidden_characters
from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.run import Run
from pytest_opsladder.observability.events import error_code

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
Labels = tuple[tuple[str, str], ...]


@dataclass
class Histogram:
    """Cumulative buckets in seconds (Prometheus style), plus sum and count."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound, n in zip([*map(str, BUCKETS), "+Inf"], self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


def _labels(**kv: Any) -> Labels:
    return tuple(sorted((k, str(v if v is not None else "")) for k, v in kv.items()))


class Metrics:
    """Aggregates runs: ``add(run)`` then ``to_dict()`` or ``to_prometheus()``."""

    def __init__(self) -> None:
        self.counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self.histograms: dict[str, dict[Labels, Histogram]] = defaultdict(
            lambda: defaultdict(Histogram)
        )

    def inc(self, metric: str, value: float = 1, /, **labels: Any) -> None:
        self.counters[metric][_labels(**labels)] += value

    def observe(self, metric: str, seconds: float, /, **labels: Any) -> None:
        self.histograms[metric][_labels(**labels)].observe(seconds)

    def add(self, run: Run) -> Metrics:
        self.inc("opsladder_runs_total", 1, variant=run.variant.name, status=run.status.value)
        if run.manifest.get("duration_s") is not None:
            self.observe(
                "opsladder_run_duration_seconds",
                float(run.manifest["duration_s"]),
                variant=run.variant.name,
            )
        for event in run.events:
            self._event(event)
        return self

    def add_all(self, runs: Iterable[Run]) -> Metrics:
        for run in runs:
            self.add(run)
        return self

    def _event(self, event: ev.Event) -> None:
        if event.kind == ev.TOOL_CALL:
            self._tool(event)
        elif event.kind == ev.LLM_CALL:
            self._llm(event)
        elif event.kind == ev.RETRY:
            self.inc("opsladder_retries_total", 1, name=event.name)
        elif event.kind == ev.ERROR:
            code = event.data.get("code") or error_code(event.name).value
            self.inc("opsladder_errors_total", 1, code=code, source="agent")

    def _tool(self, event: ev.Event) -> None:
        err = event.data.get("error")
        outcome = "error" if err else "ok"
        self.inc("opsladder_tool_calls_total", 1, tool=event.name, outcome=outcome)
        self.observe("opsladder_tool_duration_seconds", event.duration, tool=event.name)
        if isinstance(err, dict):
            code = error_code(str(err.get("type", ""))).value
            self.inc("opsladder_errors_total", 1, code=code, source="tool")

    def _llm(self, event: ev.Event) -> None:
        data = event.data
        model = data.get("response_model") or data.get("request_model") or event.name
        op = data.get("operation") or "chat"
        self.inc("opsladder_llm_calls_total", 1, model=model, operation=op)
        self.observe("opsladder_llm_duration_seconds", event.duration, model=model, operation=op)
        for kind, tokens in token_usage(data.get("usage") or {}).items():
            self.inc("opsladder_llm_tokens_total", tokens, model=model, type=kind)

    def to_dict(self) -> dict[str, Any]:
        counters = [
            {"name": n, "labels": dict(lb), "value": v}
            for n, series in sorted(self.counters.items())
            for lb, v in sorted(series.items())
        ]
        hists = [
            {
                "name": n,
                "labels": dict(lb),
                "count": h.count,
                "sum": round(h.total, 6),
                "buckets": dict(h.cumulative()),
            }
            for n, series in sorted(self.histograms.items())
            for lb, h in sorted(series.items())
        ]
        return {"counters": counters, "histograms": hists}

    def to_prometheus(self) -> str:
        lines: list[str] = []
        for name, series in sorted(self.counters.items()):
            lines.append(f"# TYPE {name} counter")
            lines += [f"{name}{_fmt(lb)} {v:g}" for lb, v in sorted(series.items())]
        for name, hseries in sorted(self.histograms.items()):
            lines.append(f"# TYPE {name} histogram")
            for lb, h in sorted(hseries.items()):
                lines += [f"{name}_bucket{_fmt((*lb, ('le', b)))} {n}" for b, n in h.cumulative()]
                lines += [f"{name}_sum{_fmt(lb)} {h.total:g}", f"{name}_count{_fmt(lb)} {h.count}"]
        return "\n".join(lines) + "\n"


# Control and bidi characters in a label value (a recorded tool or model name): the exposition
# format has no escape for them (only \\, \" and \n), so a terminal would act on them and a
# visible escape (\u001b) would make strict parsers reject the whole scrape. Each becomes U+FFFD.
_ACTED_ON = hidden_characters("")


def _fmt(labels: Labels) -> str:
    if not labels:
        return ""

    def esc(v: str) -> str:
        v = v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return _ACTED_ON.sub("\ufffd", v)

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels) + "}"


def token_usage(usage: dict[str, Any]) -> dict[str, int]:
    """Input/output tokens from OpenAI (prompt/completion) or Anthropic (input/output) usage."""
    inp = usage.get("input_tokens", usage.get("prompt_tokens"))
    out = usage.get("output_tokens", usage.get("completion_tokens"))
    found = {"input": inp, "output": out}
    return {k: int(v) for k, v in found.items() if isinstance(v, int | float)}
