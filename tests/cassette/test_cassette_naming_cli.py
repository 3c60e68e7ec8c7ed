"""Ladder level 0: cassette names, and the `opsladder` command that inspects cassettes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_opsladder import Case, Mode, RecordMode, RunRecorder, Variant, __version__, tool
from pytest_opsladder.cassette.naming import MAX_STEM, cassette_path, incomplete_path, safe_stem
from pytest_opsladder.cli import main

SAFE = re.compile(r"^[A-Za-z0-9._=-]+$")


@pytest.mark.parametrize(
    "case_id",
    ["simple", "test_x[a/b]", "test_x[a b]", "ünïcode-id", "../../etc/passwd", "", "x" * 500],
)
def test_names_are_deterministic_safe_and_short(case_id: str) -> None:
    stem = safe_stem(case_id)
    assert stem == safe_stem(case_id)
    assert SAFE.match(stem)
    assert len(stem) <= MAX_STEM == 96
    assert not stem.startswith(".")


def test_plain_ids_keep_their_name() -> None:
    assert safe_stem("career-first-oncall") == "career-first-oncall"
    assert cassette_path(Path("r"), "case-1", "prod") == Path("r/case-1/prod.json")
    assert cassette_path(Path("r"), "case-1", "prod", epoch=2) == Path("r/case-1/prod.e2.json")
    assert incomplete_path(Path("r/c/prod.json")) == Path("r/c/prod.incomplete.json")


def test_ids_differing_past_the_cut_or_in_unsafe_characters_stay_unique() -> None:
    long_a, long_b = "t[" + "a" * 300 + "1]", "t[" + "a" * 300 + "2]"
    assert safe_stem(long_a) != safe_stem(long_b)
    assert safe_stem(long_a)[:80] == safe_stem(long_b)[:80]  # the readable prefix is kept
    assert len({safe_stem(i) for i in ["q[a/b]", "q[a:b]", "q[a b]", "q[a_b]"]}) == 4


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_long_parametrize_ids_get_short_distinct_cassettes(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.makepyfile(
        test_long="""
import pytest
from pytest_opsladder import tool

@tool
def echo(text: str) -> str:
    return text

LONG = "note-" * 80
@pytest.mark.parametrize("note", [LONG + "first", LONG + "second", "a/b", "a:b"])
@pytest.mark.opsladder
def test_note(opsladder_run, note):
    opsladder_run.output = echo(note)
"""
    )
    pytester.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=4)
    dirs = sorted((pytester.path / "cassettes" / "opsladder" / "test_long").iterdir())
    assert len(dirs) == 4
    for directory in dirs:
        assert len(directory.name) <= 96
        assert SAFE.match(directory.name)
        assert [p.name for p in directory.iterdir()] == ["baseline.json"]
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*0 recorded, 4 replayed*"])


@tool(name="cli_fetch")
def fetch(x: int) -> int:
    return x * 3


def _record(path: Path, case: str = "c") -> None:
    with RunRecorder(
        Case(case, {"q": 1}), Variant("prod"), path, mode=Mode.RECORD, record_mode=RecordMode.ALL
    ) as run:
        run.output = fetch(2)


def test_opsladder_help_and_version() -> None:
    done = subprocess.run(["opsladder", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "usage: opsladder" in done.stdout
    assert "cassette" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "pytest_opsladder.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"opsladder {__version__}"


def test_cassette_validate_scans_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "cassettes"
    _record(root / "test_mod" / "test_a" / "baseline.json")
    _record(root / "test_mod" / "test_b" / "baseline.json")
    (root / "test_mod" / "test_b" / ".baseline.json.x.tmp").write_text("{half")  # temp: skipped
    (tmp_path / "case.yaml").write_text("id: a-case\n")  # a case file, not a cassette
    assert main(["cassette", "validate", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == "2 valid, 0 invalid cassette(s)"
    broken = root / "test_mod" / "test_c" / "baseline.json"
    broken.parent.mkdir()
    broken.write_text('{"format": "pytest-opsladder/cassette", "run": {')
    assert main(["cassette", "validate", str(root)]) == 1
    out = capsys.readouterr()
    assert out.out.strip() == "2 valid, 1 invalid cassette(s)"
    assert f"FAIL {broken}" in out.err


def test_cassette_validate_named_file_and_schema_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.json"
    _record(path)
    envelope = json.loads(path.read_text())
    envelope["schema_version"] = 9
    path.write_text(json.dumps(envelope))
    assert main(["cassette", "validate", str(path)]) == 1
    assert "schema_version 9" in capsys.readouterr().err


def test_cassette_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.json"
    _record(path, case="refund-42")
    assert main(["cassette", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "case=refund-42" in out
    assert "variant=prod" in out
    assert "status=complete" in out
    assert "tool_call" in out
    assert "cli_fetch" in out
    assert "output: 6" in out
    assert main(["cassette", "show", str(path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["output"] == 6
    assert shown["case"] == {"id": "refund-42", "input": {"q": 1}}


def test_cassette_show_of_a_bad_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("nope")
    done = subprocess.run(
        ["opsladder", "cassette", "show", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"opsladder cassette: error: {path}")
    assert "Traceback" not in done.stderr
