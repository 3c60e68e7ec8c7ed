"""Hostile files in the nightmare set: collection never hangs and never shows a raw traceback.

An alias bomb, a file past the size cap, a FIFO named like a case, dangling and looping
symbolic links (case files and cassettes): each is a collection error (or a CLI error) naming
the file, what it is and what to do, and the other cases still collect. The tests that hung
before the fix run pytest or the CLI in a subprocess with a timeout, so a regression fails
instead of hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from nightmare_helpers import case_yaml, write_case

from pytest_opsladder.cli import main
from pytest_opsladder.nightmare.case import MAX_CASE_BYTES, CaseFormatError, load_case

XDIST = [[], ["-n", "2"]]
HANG = 120  # seconds: under 10 s after the fix on a loaded box, forever before it


def alias_bomb(levels: int = 9) -> str:
    """A billion-laughs case: each anchor lists the previous one nine times (about 500 bytes,
    9**9 = 387,420,489 strings once built)."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    checks = f"checks:\n  - contains: {{value: *l{levels - 1}}}\n"
    return "input:\n  " + "\n  ".join(lines) + f"\nid: bomb\n{checks}"


def test_an_alias_bomb_is_small(tmp_path: Path) -> None:
    assert len(alias_bomb().encode()) < 600


@pytest.mark.parametrize("xdist", XDIST)
def test_an_alias_bomb_is_a_collection_error_not_a_hang(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    write_case(project, "bomb.yaml", alias_bomb())
    write_case(project, "good.yaml", case_yaml("good"))
    result = project.runpytest_subprocess(
        "--collect-only", "-q", "nightmare_set", *xdist, timeout=HANG
    )
    result.stdout.fnmatch_lines(
        [
            "*bomb.yaml:*: YAML aliases would expand this case by *values*"
            "a case may repeat at most 100,000 values through aliases*alias bomb*"
            "remove the aliases*",
        ]
    )
    result.stdout.fnmatch_lines(["*good.yaml::good*"])
    result.stdout.no_fnmatch_line("*Traceback*")
    assert result.ret == 2  # interrupted: 1 error during collection


def test_a_recursive_alias_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("id: a\ninput:\n  q: &x [1, *x]\n", encoding="utf-8")
    with pytest.raises(CaseFormatError) as info:
        load_case(path)
    assert info.value.line == 3
    assert "contains an alias to itself" in str(info.value)


def test_a_few_small_aliases_still_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        "id: a\ninput: &q {q: refund}\nchecks:\n  - exact: {value: *q}\n"
        "  - contains: {value: [*q, *q]}\n",
        encoding="utf-8",
    )
    case = load_case(path)
    assert case.input == {"q": "refund"}
    assert case.checks[1].args == {"value": [{"q": "refund"}, {"q": "refund"}]}


@pytest.mark.parametrize("xdist", XDIST)
def test_a_case_file_past_the_size_cap_is_refused(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    big = case_yaml("big", q="x" * (MAX_CASE_BYTES + 1))
    write_case(project, "big.yaml", big)
    result = project.runpytest("--collect-only", "-q", "nightmare_set", *xdist)
    size = len(big.encode())
    result.stdout.fnmatch_lines(
        [
            f"*big.yaml: the case file is {size:,} bytes, over the cap of {MAX_CASE_BYTES:,} "
            "bytes. A case file holds one hard input and its checks, at most 4 MiB: trim the "
            "input*split it into several cases.*"
        ]
    )
    assert result.ret == 2


def test_a_case_file_at_the_cap_loads(tmp_path: Path) -> None:
    head = "id: a\ninput: '"
    path = tmp_path / "at-cap.yaml"
    path.write_text(head + "x" * (MAX_CASE_BYTES - len(head) - 2) + "'\n", encoding="utf-8")
    assert path.stat().st_size == MAX_CASE_BYTES
    assert len(load_case(path).input) == MAX_CASE_BYTES - len(head) - 2


def test_curation_refuses_to_write_a_case_past_the_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "nm"
    big = tmp_path / "big.json"
    big.write_text('{"q": "' + "x" * MAX_CASE_BYTES + '"}', encoding="utf-8")
    code = main(["nightmare", "--dir", str(root), "add", "--id", "big", "--input", f"@{big}"])
    assert code == 2
    assert f"over the cap of {MAX_CASE_BYTES:,} bytes" in capsys.readouterr().err
    assert not list(root.glob("*.yaml"))


@pytest.mark.parametrize("xdist", XDIST)
def test_a_fifo_named_like_a_case_is_a_collection_error_not_a_hang(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    os.mkfifo(project.path / "nightmare_set" / "x.yaml")
    write_case(project, "good.yaml", case_yaml("good"))
    result = project.runpytest_subprocess(
        "--collect-only", "-q", "nightmare_set", *xdist, timeout=HANG
    )
    result.stdout.fnmatch_lines(
        [
            "*x.yaml: the case file is a FIFO (named pipe), not a regular file. Only regular "
            "files are read as cases*remove it, or move it out of the nightmare set.*"
        ]
    )
    result.stdout.fnmatch_lines(["*good.yaml::good*"])
    assert result.ret == 2


def test_a_fifo_given_by_name_is_refused_too(project: pytest.Pytester) -> None:
    os.mkfifo(project.path / "nightmare_set" / "x.yaml")
    result = project.runpytest_subprocess("nightmare_set/x.yaml", timeout=HANG)
    result.stdout.fnmatch_lines(["*x.yaml: the case file is a FIFO (named pipe)*"])
    assert result.ret == 2


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_opsladder.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )


def test_the_curation_cli_refuses_a_fifo_instead_of_hanging(tmp_path: Path) -> None:
    root = tmp_path / "nightmare_set"
    root.mkdir()
    os.mkfifo(root / "x.yaml")
    done = _cli(tmp_path, "nightmare", "list")
    assert done.returncode == 2
    assert "x.yaml: the case file is a FIFO (named pipe), not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("xdist", XDIST)
def test_dangling_and_looping_links_are_named_collection_errors(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    root = project.path / "nightmare_set"
    (root / "dangling.yaml").symlink_to("nowhere.yaml")
    (root / "loop.yaml").symlink_to("loop.yaml")
    write_case(project, "good.yaml", case_yaml("good"))
    result = project.runpytest("--collect-only", "-q", "nightmare_set", *xdist)
    result.stdout.fnmatch_lines_random(
        [
            "*dangling.yaml: the case file is a symbolic link to 'nowhere.yaml', which does not "
            "exist. Point the link at a case file, or remove the link.",
            "*loop.yaml: the case file is a symbolic link that loops*Replace the link with the "
            "case file it should name, or remove it.",
            "*good.yaml::good*",
        ]
    )
    result.stdout.no_fnmatch_line("*OSError*")
    result.stdout.no_fnmatch_line("*FileNotFoundError*")
    assert result.ret == 2


def test_the_curation_cli_names_a_dangling_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "nm"
    root.mkdir()
    (root / "gone.yaml").symlink_to(tmp_path / "moved.yaml")
    assert main(["nightmare", "--dir", str(root), "list"]) == 2
    err = capsys.readouterr().err
    assert f"gone.yaml: the case file is a symbolic link to '{tmp_path / 'moved.yaml'}'" in err


def _record_good(project: pytest.Pytester) -> Path:
    write_case(project, "good.yaml", case_yaml("good"))
    project.runpytest("nightmare_set", "--opsladder-mode=record").assert_outcomes(passed=1)
    cassette = project.path / "nightmare_set/cassettes/good/prod.json"
    assert cassette.is_file()
    return cassette


@pytest.mark.parametrize("link", ["dangling", "loop"])
def test_a_broken_cassette_link_is_named_in_replay(project: pytest.Pytester, link: str) -> None:
    cassette = _record_good(project)
    cassette.unlink()
    cassette.symlink_to("gone.json" if link == "dangling" else "prod.json")
    result = project.runpytest("nightmare_set")
    result.assert_outcomes(errors=1)
    target = "gone.json" if link == "dangling" else "prod.json"
    result.stdout.fnmatch_lines(
        [
            "*has no baseline cassette for variant 'prod': expected "
            f"nightmare_set/cassettes/good/prod.json, which is a symbolic link to '{target}' "
            "that does not resolve.*Point the link at the cassette, or remove it and record*"
        ]
    )


def test_a_fifo_in_place_of_a_cassette_fails_the_case_instead_of_hanging(
    project: pytest.Pytester,
) -> None:
    cassette = _record_good(project)
    cassette.unlink()
    os.mkfifo(cassette)
    result = project.runpytest_subprocess("nightmare_set", timeout=HANG)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"*cannot read cassette {cassette}: it is a FIFO (named pipe), not a regular file.*"]
    )


def test_cassette_validate_reports_broken_links_and_fifos(tmp_path: Path) -> None:
    home = tmp_path / "nightmare_set" / "cassettes" / "good"
    home.mkdir(parents=True)
    (home / "prod.json").symlink_to("gone.json")
    (home / "next.json").symlink_to("next.json")
    os.mkfifo(home / "pipe.json")
    done = _cli(tmp_path, "cassette", "validate", str(home), str(home / "pipe.json"))
    assert done.returncode == 1
    assert "0 valid, 3 invalid cassette(s)" in done.stdout
    assert "it is a symbolic link to 'gone.json', which does not exist" in done.stderr
    assert f"cannot read cassette {home / 'next.json'}: it is a symbolic link that loops" in (
        done.stderr
    )
    assert "pipe.json: it is a FIFO (named pipe)" in done.stderr
