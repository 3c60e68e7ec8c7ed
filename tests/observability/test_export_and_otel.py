"""JSON lines, metrics (per tool and model, retries, error codes), OpenTelemetry GenAI spans."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_opsladder import tool
from pytest_opsladder.capture.llm import llm_call
from pytest_opsladder.observability import Metrics, retrying, step
from pytest_opsladder.observability.fixtures import OtelKit, TelemetryKit
from pytest_opsladder.observability.otel import export_run


@tool
def search(query: str) -> list[str]:
    return [query]


@tool
def fetch(url: str) -> str:
    raise TimeoutError(f"{url} timed out")


def agent_run(kit: TelemetryKit) -> None:
    """A run with known timings: 2 LLM calls, 2 tool calls (one fails), 2 retries, a step."""
    with step("plan"):
        t0 = kit.run.now()
        kit.clock.advance(1.5)
        llm_call(
            "gpt-4.1",
            "gpt-4.1-2025-04-14",
            {"prompt_tokens": 100, "completion_tokens": 20},
            t_start=t0,
            finish_reason="tool_calls",
        )
    kit.clock.advance(0.25)
    search("refunds")
    with pytest.raises(TimeoutError):
        fetch("https://x")
    failures = iter([ConnectionError("reset"), ConnectionError("reset")])

    def flaky() -> str:
        kit.clock.advance(0.1)
        exc = next(failures, None)
        if exc:
            raise exc
        return "ok"

    assert retrying(flaky, name="fetch_page", sleep=lambda s: None) == "ok"
    t1 = kit.run.now()
    kit.clock.advance(0.5)
    llm_call(
        "claude-x",
        "claude-x",
        {"input_tokens": 7, "output_tokens": 3},
        t_start=t1,
        operation="text_completion",
    )
    kit.run.finish("done")


def series(metrics: dict[str, object], name: str) -> dict[tuple[tuple[str, str], ...], object]:
    out = {}
    for item in metrics["counters"] + metrics["histograms"]:  # type: ignore[operator]
        if item["name"] == name:
            out[tuple(sorted(item["labels"].items()))] = item.get("value", item.get("count"))
    return out


def test_metrics_per_tool_and_model_with_retries_and_error_codes(
    opsladder_telemetry: TelemetryKit,
) -> None:
    agent_run(opsladder_telemetry)
    m = opsladder_telemetry.metrics()
    assert series(m, "opsladder_tool_calls_total") == {
        (("outcome", "ok"), ("tool", "search")): 1,
        (("outcome", "error"), ("tool", "fetch")): 1,
    }
    assert series(m, "opsladder_llm_calls_total") == {
        (("model", "gpt-4.1-2025-04-14"), ("operation", "chat")): 1,
        (("model", "claude-x"), ("operation", "text_completion")): 1,
    }
    assert (
        series(m, "opsladder_llm_tokens_total")[
            (("model", "gpt-4.1-2025-04-14"), ("type", "input"))
        ]
        == 100
    )
    assert series(m, "opsladder_retries_total") == {(("name", "fetch_page"),): 2}
    # the fetch_page success after retries records no error: only the tool's timeout is one
    assert series(m, "opsladder_errors_total") == {(("code", "timeout"), ("source", "tool")): 1}
    hist = [h for h in m["histograms"] if h["name"] == "opsladder_llm_duration_seconds"]
    gpt = next(h for h in hist if h["labels"]["model"].startswith("gpt"))
    assert gpt["sum"] == 1.5
    assert gpt["buckets"]["1.0"] == 0
    assert gpt["buckets"]["2.5"] == 1


def test_prometheus_text_has_counters_and_cumulative_buckets(
    opsladder_telemetry: TelemetryKit,
) -> None:
    agent_run(opsladder_telemetry)
    text = Metrics().add(opsladder_telemetry.run).to_prometheus()
    assert "# TYPE opsladder_llm_duration_seconds histogram" in text
    assert 'opsladder_retries_total{name="fetch_page"} 2' in text
    assert (
        'opsladder_llm_duration_seconds_bucket{model="claude-x",operation="text_completion",'
        'le="+Inf"} 1'
    ) in text


def test_jsonl_lines_carry_run_identity_error_codes_and_steps(
    opsladder_telemetry: TelemetryKit,
) -> None:
    agent_run(opsladder_telemetry)
    lines = opsladder_telemetry.lines()
    run_id = opsladder_telemetry.run.run_id
    assert lines[0]["type"] == "run"
    assert lines[0]["status"] == "complete"
    assert all(line["run_id"] == run_id for line in lines)
    kinds = [line["kind"] for line in lines[1:]]
    assert kinds == ["llm_call", "step", "tool_call", "tool_call", "retry", "retry", "llm_call"]
    failed = next(x for x in lines if x.get("name") == "fetch")
    assert failed["error_code"] == "timeout"
    assert lines[1]["duration_s"] == 1.5
    assert lines[2]["data"]["path"] == "plan"


def test_otel_spans_follow_the_genai_conventions(
    opsladder_telemetry: TelemetryKit, opsladder_otel: OtelKit
) -> None:
    agent_run(opsladder_telemetry)
    export_run(opsladder_telemetry.run, opsladder_otel.tracer_provider, agent_name="support")
    spans = {s.name: s for s in opsladder_otel.spans.get_finished_spans()}
    assert set(spans) == {
        "invoke_agent support",
        "chat gpt-4.1",
        "text_completion claude-x",
        "execute_tool search",
        "execute_tool fetch",
        "step plan",
    }
    root = spans["invoke_agent support"]
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "support"
    assert all(s.parent.span_id == root.context.span_id for n, s in spans.items() if s is not root)
    chat = spans["chat gpt-4.1"]
    assert chat.attributes["gen_ai.request.model"] == "gpt-4.1"
    assert chat.attributes["gen_ai.response.model"] == "gpt-4.1-2025-04-14"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 100
    assert chat.attributes["gen_ai.usage.output_tokens"] == 20
    assert (chat.end_time - chat.start_time) / 1e9 == pytest.approx(1.5)
    tool_span = spans["execute_tool fetch"]
    assert tool_span.attributes["gen_ai.tool.name"] == "fetch"
    assert tool_span.attributes["error.type"] == "TimeoutError"
    assert tool_span.status.status_code.name == "ERROR"
    assert [e.name for e in root.events] == ["retry", "retry"]


def test_otel_metrics_are_in_seconds_and_tokens_by_type(
    opsladder_telemetry: TelemetryKit, opsladder_otel: OtelKit
) -> None:
    agent_run(opsladder_telemetry)
    export_run(
        opsladder_telemetry.run, opsladder_otel.tracer_provider, opsladder_otel.meter_provider
    )
    data = opsladder_otel.reader.get_metrics_data()
    metrics = {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    duration = metrics["gen_ai.client.operation.duration"]
    assert duration.unit == "s"
    sums = {p.attributes["gen_ai.request.model"]: p.sum for p in duration.data.data_points}
    assert sums == {"gpt-4.1": pytest.approx(1.5), "claude-x": pytest.approx(0.5)}
    usage = metrics["gen_ai.client.token.usage"]
    by_type = {
        (p.attributes["gen_ai.request.model"], p.attributes["gen_ai.token.type"]): p.sum
        for p in usage.data.data_points
    }
    assert by_type == {
        ("gpt-4.1", "input"): 100,
        ("gpt-4.1", "output"): 20,
        ("claude-x", "input"): 7,
        ("claude-x", "output"): 3,
    }


def test_enable_otel_export_exports_every_run_at_its_end(opsladder_otel: OtelKit) -> None:
    from pytest_opsladder import Case, RunRecorder, Variant
    from pytest_opsladder.modes import Mode, RecordMode
    from pytest_opsladder.observability.otel import disable_otel_export, enable_otel_export

    enable_otel_export(opsladder_otel.tracer_provider)
    try:
        with RunRecorder(
            Case("c1"), Variant("prod"), None, mode=Mode.RECORD, record_mode=RecordMode.ALL
        ):
            search("x")
    finally:
        disable_otel_export()
    names = sorted(s.name for s in opsladder_otel.spans.get_finished_spans())
    assert names == ["execute_tool search", "invoke_agent prod"]


def test_retrying_gives_up_with_one_error_after_the_last_attempt(
    opsladder_telemetry: TelemetryKit,
) -> None:
    def broken() -> None:
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError):
        retrying(broken, name="upload", attempts=3, sleep=lambda s: None)
    run = opsladder_telemetry.run
    assert [e.data["attempt"] for e in run.events_of("retry")] == [1, 2]
    [error] = run.events_of("error")
    assert error.data["code"] == "connection"
    assert error.data["fatal"] is True


def test_the_cli_writes_metrics_for_a_run_store(
    opsladder_telemetry: TelemetryKit, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from pathlib import Path

    from pytest_opsladder.cassette import files
    from pytest_opsladder.cli import main

    agent_run(opsladder_telemetry)
    store = Path(str(tmp_path)) / "runs" / "2026-01-05"
    files.save(opsladder_telemetry.run, store / "a.json")
    files.save(opsladder_telemetry.run, store / "b.json")
    assert main(["events", "metrics", str(store.parent)]) == 0
    counters = json.loads(capsys.readouterr().out)["counters"]
    runs = [c for c in counters if c["name"] == "opsladder_runs_total"]
    assert runs == [
        {
            "name": "opsladder_runs_total",
            "labels": {"status": "complete", "variant": "test"},
            "value": 2,
        }
    ]
    assert main(["events", "metrics", str(store), "--format", "prometheus"]) == 0
    assert 'opsladder_retries_total{name="fetch_page"} 4' in capsys.readouterr().out


def test_the_cli_names_a_file_that_is_not_a_cassette(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    from pytest_opsladder.cli import main

    bad = Path(str(tmp_path)) / "notes.json"
    bad.write_text("{not json")
    assert main(["events", "jsonl", str(bad)]) == 2
    assert "notes.json" in capsys.readouterr().err


# Prometheus labels as the text format defines them: in a value only \\, \" and \n are escapes.
_LABELS = re.compile(r'(?:[a-zA-Z_]\w*="(?:[^"\\\n]|\\[\\"n])*"(?:,|$))+')


def test_prometheus_labels_with_control_characters_stay_parseable_and_inert(
    opsladder_telemetry: TelemetryKit, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recorded name holding an ANSI escape and a bidi override: on stdout it showed as
    ``\\u001b``, an escape the exposition format does not have (strict parsers reject the
    scrape); each such character is now U+FFFD, on stdout and in a file alike."""
    from pytest_opsladder.cassette import files
    from pytest_opsladder.cli import main

    name = 'fetch\x1b[2J\u202epage\\"x'
    opsladder_telemetry.run.emit("retry", name, {"attempt": 1})
    files.save(opsladder_telemetry.run, tmp_path / "runs" / "a.json")
    args = ["events", "metrics", str(tmp_path / "runs"), "--format", "prometheus"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert main([*args, "-o", str(tmp_path / "m.prom")]) == 0
    for text in (out, (tmp_path / "m.prom").read_text()):
        assert 'opsladder_retries_total{name="fetch\ufffd[2J\ufffdpage\\\\\\"x"} 1' in text
        assert "\x1b" not in text
        assert "\\u" not in text
        for line in text.splitlines():
            if "{" in line:
                assert _LABELS.fullmatch(line[line.index("{") + 1 : line.rindex("}")]), line
