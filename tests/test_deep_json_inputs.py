"""JSON nested past Python's stack, in a file or text a user or a model wrote, is that reader's
named error (or, for a tool's arguments, a call a human must approve), never a RecursionError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_opsladder import _json
from pytest_opsladder.cli import main

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["report", "{file}"], "is not valid JSON"),
        (["merge", "{file}"], "is not JSON"),
        (["policy", "check", "--policy", "{file}", "--command", "ls"], "not valid json"),
    ],
)
def test_a_deep_user_file_is_the_commands_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP, encoding="utf-8")
    code = main([a.replace("{file}", str(deep)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert "deep.json" in err
    assert says in err
    assert "nested too deep to read" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "text"),
    [("deep.yaml", "[" * 5000 + "]" * 5000), ("deep.toml", "a = " + "[" * 5000 + "]" * 5000)],
)
def test_a_deep_policy_in_yaml_or_toml_is_a_policy_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    policy = tmp_path / name
    policy.write_text(text, encoding="utf-8")
    assert main(["policy", "check", "--policy", str(policy), "--command", "ls"]) == 2
    err = capsys.readouterr().err
    assert name in err
    assert "nested too deep to read" in err


def test_deep_tool_arguments_ask_a_human(capsys: pytest.CaptureFixture[str]) -> None:
    args = '{"a":' * 3000 + "1" + "}" * 3000
    main(["policy", "check", "--tool", "write_file", "--args", args])
    out = capsys.readouterr().out
    assert "ask malformed-arguments" in out
    assert "nested too deep to read" in out


def test_parse_is_json_loads_with_its_options() -> None:
    assert _json.parse('{"a": [1, 2.5]}') == {"a": [1, 2.5]}
    assert _json.parse(b"[1]") == [1]
    with pytest.raises(ValueError, match="NaN"):
        _json.parse("[NaN]", parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    with pytest.raises(json.JSONDecodeError, match="nested too deep"):
        _json.parse(DEEP.encode())


@pytest.mark.parametrize(
    ("name", "text"),
    [("sinks.json", DEEP), ("sinks.toml", "sink = " + "[" * 5000 + "]" * 5000)],
)
def test_a_deep_sinks_file_is_a_schedule_config_error(tmp_path: Path, name: str, text: str) -> None:
    from pytest_opsladder.schedule.alerts import load_sinks
    from pytest_opsladder.schedule.errors import ScheduleConfigError

    sinks = tmp_path / name
    sinks.write_text(text, encoding="utf-8")
    with pytest.raises(ScheduleConfigError, match=rf"{name}: .*nested too deep"):
        load_sinks(sinks)
