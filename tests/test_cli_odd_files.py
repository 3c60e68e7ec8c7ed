"""A file that is not UTF-8, or not there, is the command's named error (exit 2, or a FAIL
line for cassette validate), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_opsladder.cli import main


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["merge", "{file}"], "is not UTF-8 text (byte 0)"),
        (["policy", "check", "--policy", "{file}", "--command", "ls"], "not UTF-8 text (byte 0)"),
    ],
)
def test_a_file_that_is_not_utf8_is_the_commands_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    odd = tmp_path / "odd.json"
    odd.write_bytes(b"\xff\xfe\x00not text")
    assert main([a.replace("{file}", str(odd)) for a in argv]) == 2
    err = capsys.readouterr().err
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
