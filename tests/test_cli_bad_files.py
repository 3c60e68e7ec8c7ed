"""A file or text a user or a model wrote that is not UTF-8, not there, or nested past
Python's stack is that reader's named error (exit 2, a FAIL line for cassette validate, or
for a tool's arguments a call a human must approve), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_opsladder import _json
from pytest_opsladder.cli import main
from pytest_opsladder.schedule.alerts import load_sinks
from pytest_opsladder.schedule.errors import ScheduleConfigError

DEEP = "[" * 100_000 + "]" * 100_000
NOT_UTF8 = b"\xff\xfe\x00not text"
POLICY_CHECK = ["policy", "check", "--policy", "{file}", "--command", "ls"]


def run_on_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, argv: list[str]
) -> tuple[int, str]:
    """The exit code and stderr of ``opsladder argv`` with ``{file}`` a file holding
    ``content``."""
    path = tmp_path / name
    path.write_bytes(content)
    code = main([a.replace("{file}", str(path)) for a in argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["report", "{file}"], "is not valid JSON"),
        (["merge", "{file}"], "is not JSON"),
        (POLICY_CHECK, "not valid json"),
    ],
)
def test_a_deep_user_file_is_the_commands_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, err = run_on_file(tmp_path, capsys, "deep.json", DEEP.encode(), argv)
    assert code == 2
    assert "deep.json" in err
    assert says in err
    assert "nested too deep to read" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "text"),
    [("deep.yaml", DEEP), ("deep.toml", "a = " + DEEP)],
)
def test_a_deep_policy_in_yaml_or_toml_is_a_policy_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    code, err = run_on_file(tmp_path, capsys, name, text.encode(), POLICY_CHECK)
    assert code == 2
    assert name in err
    assert "nested too deep to read" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["merge", "{file}"], "is not UTF-8 text (byte 0)"),
        (POLICY_CHECK, "not UTF-8 text (byte 0)"),
    ],
)
def test_a_file_that_is_not_utf8_is_the_commands_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, err = run_on_file(tmp_path, capsys, "odd.json", NOT_UTF8, argv)
    assert code == 2
    assert "odd.json" in err
    assert says in err
    assert "Traceback" not in err


def test_cassette_validate_reports_a_missing_file_and_checks_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    assert main(["cassette", "validate", str(missing), str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert f"FAIL no cassette at {missing}" in captured.err + captured.out
    assert "0 valid, 1 invalid cassette(s)" in captured.out


def test_deep_tool_arguments_ask_a_human(capsys: pytest.CaptureFixture[str]) -> None:
    args = '{"a":' * 100_000 + "1" + "}" * 100_000  # past any recursion limit a suite sets
    main(["policy", "check", "--tool", "write_file", "--args", args])
    out = capsys.readouterr().out
    assert "ask malformed-arguments" in out
    assert "nested too deep to read" in out


@pytest.mark.parametrize(
    ("name", "text"),
    [("sinks.json", DEEP), ("sinks.toml", "sink = " + DEEP)],
)
def test_a_deep_sinks_file_is_a_schedule_config_error(tmp_path: Path, name: str, text: str) -> None:
    sinks = tmp_path / name
    sinks.write_text(text, encoding="utf-8")
    with pytest.raises(ScheduleConfigError, match=rf"{name}: .*nested too deep"):
        load_sinks(sinks)


def test_parse_is_json_loads_with_its_options() -> None:
    assert _json.parse('{"a": [1, 2.5]}') == {"a": [1, 2.5]}
    assert _json.parse(b"[1]") == [1]
    with pytest.raises(ValueError, match="NaN"):
        _json.parse("[NaN]", parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    with pytest.raises(json.JSONDecodeError, match="nested too deep"):
        _json.parse(DEEP.encode())
