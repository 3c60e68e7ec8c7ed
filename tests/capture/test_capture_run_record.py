"""Ladder level 0: the fields of the Run record a cassette carries."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from pytest_opsladder import (
    Case,
    Mode,
    RecordMode,
    RunRecorder,
    Variant,
    emit,
    register_event_kind,
    register_metric,
    require_run,
    tool,
)
from pytest_opsladder.capture import metrics
from pytest_opsladder.capture.llm import llm_call
from pytest_opsladder.exceptions import ConfigError, NoActiveRunError, UnknownEventKindError


@tool(name="rr_fetch")
def fetch(x: int) -> int:
    return x


def test_a_saved_run_carries_case_variant_manifest_events_output_status_metrics(
    tmp_path: Path,
) -> None:
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Be brief.\n")
    variant = Variant("prod", model="m-1", prompt=str(prompt), params={"seed": 7})
    path = tmp_path / "c.json"
    with RunRecorder(
        Case("case-1", {"note": "hi"}), variant, path, mode=Mode.RECORD, record_mode=RecordMode.ALL
    ) as run:
        llm_call("m-1", "m-1-2026", {"prompt_tokens": 10, "completion_tokens": 4})
        fetch(1)
        emit("retry", "fetch", {"attempt": 1, "reason": "timeout"})
        emit("log", "note", {"level": "warning", "message": "hm"})
        run.output = {"done": True}
    raw = json.loads(path.read_text())["run"]
    assert raw["case"] == {"id": "case-1", "input": {"note": "hi"}}
    assert raw["variant"]["name"] == "prod"
    assert raw["variant"]["model"] == "m-1"
    assert raw["variant"]["params"] == {"seed": 7}
    assert len(raw["variant"]["prompt_hash"]) == 16
    assert len(raw["variant"]["tools_hash"]) == 16
    manifest = raw["manifest"]
    assert manifest["schema_version"] == 1
    assert manifest["run_id"] == run.run_id
    assert manifest["started_at"].endswith("Z")
    assert manifest["ended_at"].endswith("Z")
    assert manifest["started_at"] <= manifest["ended_at"]
    assert manifest["python"] == platform.python_version()
    assert "pytest" in manifest["packages"]
    assert set(manifest["git"]) == {"commit", "dirty"}
    assert manifest["request_model"] == "m-1"
    assert manifest["response_model"] == "m-1-2026"
    assert [e["kind"] for e in raw["events"]] == ["llm_call", "tool_call", "retry", "log"]
    assert [e["seq"] for e in raw["events"]] == [0, 1, 2, 3]
    assert raw["output"] == {"done": True}
    assert raw["status"] == "complete"
    assert raw["error"] is None
    m = raw["metrics"]
    assert (m["tool_calls"], m["llm_calls"], m["retries"]) == (1, 1, 1)
    assert (m["tokens_in"], m["tokens_out"]) == (10, 4)
    assert m["trajectory"] == "rr_fetch"
    assert m["latency_s"] >= 0


def test_editing_the_prompt_changes_its_hash(tmp_path: Path) -> None:
    prompt = tmp_path / "p.md"
    prompt.write_text("v1")
    first = Variant("v", prompt=str(prompt)).prompt_hash
    prompt.write_text("v2")
    assert Variant("v", prompt=str(prompt)).prompt_hash != first


def test_unregistered_event_kinds_are_refused_and_registered_ones_work(tmp_path: Path) -> None:
    with RunRecorder(Case("k"), Variant("v"), None, mode=Mode.RECORD) as run:
        with pytest.raises(
            UnknownEventKindError, match=r"'tool_cal' is not a registered.*decision"
        ):
            run.emit("tool_cal", "x")
        kind = register_event_kind("rr_custom_kind", "a test's own kind")
        run.emit(kind, "x", {"n": 1})
    assert run.events[-1].kind == "rr_custom_kind"


def test_registered_metric_appears_and_a_broken_one_does_not_lose_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(metrics, "_METRICS", dict(metrics._METRICS))
    register_metric("rr_double_tools")(lambda run: 2 * len(run.events_of("tool_call")))
    register_metric("rr_broken")(lambda run: 1 / 0)
    with RunRecorder(Case("k"), Variant("v"), None, mode=Mode.RECORD) as run:
        fetch(1)
    assert run.metrics["rr_double_tools"] == 2
    assert run.metrics["rr_broken"] is None
    assert "ZeroDivisionError" in run.metrics["metric_errors"]["rr_broken"]


def test_outside_a_run_emit_is_a_no_op_and_require_run_explains() -> None:
    assert emit("log", "x", {"level": "info", "message": "nothing"}) is None
    with pytest.raises(NoActiveRunError, match="opsladder_run"):
        require_run()


@pytest.mark.parametrize("prompt", ["prompts/v2.md", "v2.md", "prompts\\v2.txt", "system.j2"])
def test_a_prompt_file_that_is_not_there_is_an_error_not_the_prompt(
    tmp_path: Path, prompt: str
) -> None:
    """A moved or mistyped prompt file would otherwise be sent as the prompt's text, and a
    shadow run would compare the same wrong prompt on both sides."""
    variant = Variant("next", prompt=prompt, root=tmp_path)
    with pytest.raises(ConfigError, match=r"variant 'next': prompt .* names a file") as info:
        _ = variant.prompt_text
    assert str(tmp_path) in str(info.value)
    assert Variant("next", prompt="Be brief/clear.").prompt_text == "Be brief/clear."
