"""What a command writes: an ``-o`` file is replaced whole or not at all, a path that cannot
be written is a named error (exit 2), and a reader that closes the pipe early (``| head``) ends
the command quietly with the shell's SIGPIPE status, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_opsladder.cassette import files
from pytest_opsladder.cli import SIGPIPE_EXIT, main
from pytest_opsladder.drift.gate import GateConfig
from pytest_opsladder.drift.shards import write_shard
from pytest_opsladder.drift.table import metrics_table

REPO = Path(__file__).resolve().parents[1]
CASSETTES = REPO / "nightmare_set" / "cassettes"


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    """A copy of the demo's recorded baselines (real cassettes, 36 runs)."""
    return Path(shutil.copytree(CASSETTES, tmp_path / "cassettes"))


@pytest.fixture
def shard(cassettes: Path, tmp_path: Path) -> Path:
    """A real shard: the demo's runs as baseline and again as candidate."""
    runs = [files.load(p).to_dict() for p in sorted(cassettes.rglob("*.json"))]
    roles = [{"role": "baseline"}] * len(runs) + [{"role": "candidate"}] * len(runs)
    table = metrics_table(runs + runs, extras=roles)
    gate = GateConfig.default()
    return write_shard(tmp_path / "job.jsonl", table, baseline="prod", candidate="next", gate=gate)


def test_events_export_meeting_a_bad_cassette_leaves_the_previous_file_whole(
    cassettes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # seen: 328 lines of the new export over the old file, then the error (exit 2): a log
    # shipper picking the file up imported half an export
    out = tmp_path / "events.jsonl"
    out.write_text("yesterday's export\n")
    bad = tmp_path / "zz-cut.json"
    bad.write_text('{"format": "pytest-opsladder/cassette", "run": {')
    assert main(["events", "jsonl", str(cassettes), str(bad), "-o", str(out)]) == 2
    assert "zz-cut.json" in capsys.readouterr().err
    assert out.read_text() == "yesterday's export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_complete_events_export_replaces_the_file_readable_by_others(
    cassettes: Path, tmp_path: Path
) -> None:
    out = tmp_path / "events.jsonl"
    assert main(["events", "jsonl", str(cassettes), "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) > 36
    assert out.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["events", "jsonl", "{cassettes}", "-o", "{out}"], "-o/--out"),
        (["events", "metrics", "{cassettes}", "-o", "{out}"], "-o/--out"),
        (["merge", "{shard}", "-o", "{out}"], "-o/--output"),
    ],
    ids=["events-jsonl", "events-metrics", "merge"],
)
@pytest.mark.parametrize("where", ["a-directory", "under-a-file"])
def test_an_output_path_that_cannot_be_written_is_a_named_error(
    cassettes: Path,
    shard: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    option: str,
    where: str,
) -> None:
    blocker = tmp_path / "taken"
    blocker.mkdir() if where == "a-directory" else blocker.write_text("a file\n")
    out = blocker if where == "a-directory" else blocker / "out.json"
    values = {"{cassettes}": str(cassettes), "{shard}": str(shard), "{out}": str(out)}
    assert main([values.get(a, a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {str(out)!r}" in err
    assert option in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["events", "jsonl", "{cassettes}"], ["cassette", "show", "--json", "{big}"]],
    ids=["events-jsonl", "cassette-show"],
)
def test_a_reader_closing_the_pipe_ends_the_command_quietly(
    cassettes: Path, tmp_path: Path, argv: list[str]
) -> None:
    # `opsladder events jsonl runs/ | head` printed a BrokenPipeError traceback and exit 1
    big = next(iter(sorted(cassettes.rglob("*.json"))))
    run = files.load(big)
    run.output = "x" * 300_000  # more than a pipe buffer holds
    files.save(run, tmp_path / "big.json")
    values = {"{cassettes}": str(cassettes), "{big}": str(tmp_path / "big.json")}
    cmd = [sys.executable, "-m", "pytest_opsladder.cli", *[values.get(a, a) for a in argv]]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert proc.stdout.read(10)  # the reader takes a little, then goes away (like head)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert code == SIGPIPE_EXIT, err
    assert "Traceback" not in err
    assert "Broken pipe" not in err


ENTRY_POINTS = {
    "console-script": [str(Path(sys.executable).with_name("opsladder"))],
    "python-m-package": [sys.executable, "-m", "pytest_opsladder"],
    "python-m-cli": [sys.executable, "-m", "pytest_opsladder.cli"],
}
SHORT_OUTPUT = {
    "policy-check": ["policy", "check", "--command", "rm -rf /"],
    "status": ["status", "--state", "{state}"],
    "help": ["--help"],
    "version": ["--version"],
}


def _with_reader_gone(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``cmd`` with its stdout on a pipe whose reader has already gone (``| head -1``
    after the first line): (exit code, stderr)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(cmd, stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=120)
    finally:
        os.close(write_end)
    return done.returncode, done.stderr.decode()


@pytest.mark.parametrize("argv", list(SHORT_OUTPUT.values()), ids=list(SHORT_OUTPUT))
@pytest.mark.parametrize("entry", list(ENTRY_POINTS.values()), ids=list(ENTRY_POINTS))
def test_every_entry_point_ends_quietly_when_the_reader_goes_away(
    tmp_path: Path, entry: list[str], argv: list[str]
) -> None:
    # seen: `opsladder policy check ... | head -1` printed "Exception ignored in: <_io.
    # TextIOWrapper name='<stdout>'> BrokenPipeError" and exited 120: output that fits the
    # buffer was only written at the interpreter's exit, after main() had returned
    if not Path(entry[0]).exists():
        pytest.skip("the opsladder console script is not installed beside this Python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env |= {"PYTHONPATH": str(REPO), "OPSLADDER_PAUSE_LEDGER": str(tmp_path / "ledger")}
    state = str(tmp_path / "state" / "pause.json")
    code, err = _with_reader_gone([*entry, *(a.replace("{state}", state) for a in argv)], env)
    assert code == SIGPIPE_EXIT, err
    assert err == ""


@pytest.mark.parametrize(
    "argv", [["--help"], ["policy", "test", "no-such-policy.toml"]], ids=["output", "error"]
)
def test_a_reader_gone_from_both_streams_ends_the_command_quietly(argv: list[str]) -> None:
    # `opsladder ... 2>&1 | head -1`: the error message meets the closed pipe too
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    cmd = [sys.executable, "-m", "pytest_opsladder", *argv]
    try:
        done = subprocess.run(
            cmd,
            stdout=write_end,
            stderr=write_end,
            env=env | {"PYTHONPATH": str(REPO)},
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.returncode == SIGPIPE_EXIT
