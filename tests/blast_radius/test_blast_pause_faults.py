"""Ladder level 6 under faults (issue 15): a pause that fails closed against loss and oddity.

Each case puts the pause state in a bad shape the way an operator's disk or hands would, then
checks what a user sees: ``opsladder status`` (exit 1 = paused) and an agent's outbound tool
(refused), never a hang or a crash.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_opsladder.blast_radius.errors import PausedError, PauseStateError
from pytest_opsladder.blast_radius.pause import PauseSwitch
from pytest_opsladder.blast_radius.pause_ledger import ledger_entry
from pytest_opsladder.cli import main

STATUS = [sys.executable, "-m", "pytest_opsladder.cli", "status", "--state"]


BLOCKING = {"fifo", "socket", "device"}  # a blocking open or an endless read would hang here


def status(path: Path, fault: str = "fifo") -> tuple[int, str]:
    """``opsladder status``: (exit code, output). Where a broken reader would hang, in its own
    process with a timeout, so a hang fails the test instead of stalling the run."""
    if fault in BLOCKING:
        done = subprocess.run([*STATUS, str(path)], capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout + done.stderr
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = main(["status", "--state", str(path)])
    return code, out.getvalue()


def blocked(path: Path) -> str:
    """What a fresh agent's check at the tool boundary says: the refusal's message."""
    with pytest.raises(PausedError) as refused:
        PauseSwitch(path).check("tool 'send_sms'")
    return str(refused.value)


def _delete_file(path: Path) -> None:
    path.unlink()


def _delete_directory(path: Path) -> None:
    shutil.rmtree(path.parent)


def _dangling_symlink(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "nowhere.json")


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _socket(path: Path) -> None:
    path.unlink()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


def _device(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")  # reading it would never end


def _symlink_loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path)


def _garbage(path: Path) -> None:
    path.write_bytes(b"\xff\xfe not json")


def _huge(path: Path) -> None:
    path.write_text(json.dumps({"paused": False, "pad": "x" * 200_000}))


def _truncated(path: Path) -> None:
    path.write_text("")


FAULTS: dict[str, Callable[[Path], None]] = {
    "deleted file": _delete_file,
    "deleted directory": _delete_directory,
    "dangling symlink": _dangling_symlink,
    "fifo": _fifo,
    "socket": _socket,
    "device": _device,
    "symlink loop": _symlink_loop,
    "garbage": _garbage,
    "huge": _huge,
    "truncated": _truncated,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_set_pause_survives_every_fault_of_its_state_file(tmp_path: Path, fault: str) -> None:
    path = tmp_path / "state" / "pause.json"
    PauseSwitch(path).pause("incident 7")
    FAULTS[fault](path)
    assert "the global pause is on" in blocked(path)
    code, out = status(path, fault)
    assert code == 1, out
    assert out.startswith("paused")
    assert main(["resume", "--state", str(path)]) == 0
    assert not PauseSwitch(path).is_paused()


@pytest.mark.parametrize("fault", ["deleted file", "deleted directory", "dangling symlink"])
def test_missing_state_after_a_resumed_pause_still_reads_paused(tmp_path: Path, fault: str) -> None:
    path = tmp_path / "state" / "pause.json"
    switch = PauseSwitch(path)
    switch.pause("earlier incident")
    switch.resume()
    FAULTS[fault](path)
    assert "missing" in blocked(path) or "symlink" in blocked(path)
    assert status(path, fault)[0] == 1
    PauseSwitch(path).resume()  # only resume writes running again
    assert status(path, fault)[0] == 0


@pytest.mark.parametrize("fault", ["fifo", "socket", "device"])
def test_odd_file_types_read_as_paused_even_if_never_paused(tmp_path: Path, fault: str) -> None:
    path = tmp_path / "pause.json"
    path.write_text("{}")
    FAULTS[fault](path)
    assert "not a regular file" in blocked(path)
    assert status(path, fault)[0] == 1


def test_a_hand_edit_to_running_does_not_lift_the_pause(tmp_path: Path) -> None:
    path = tmp_path / "pause.json"
    PauseSwitch(path).pause("incident")
    path.write_text('{"paused": false}')  # not `opsladder resume`: the ledger still says paused
    assert "incident" in blocked(path)


def test_a_deleted_or_odd_ledger_fails_closed_too(tmp_path: Path) -> None:
    path = tmp_path / "pause.json"
    PauseSwitch(path).pause("incident")
    ledger = ledger_entry(path)
    ledger.unlink()
    assert "incident" in blocked(path)  # the state file alone still says paused
    ledger.mkdir()
    assert "not a regular file" in blocked(path)
    assert main(["resume", "--state", str(path)]) == 2  # a directory in the way: still paused
    ledger.rmdir()
    assert main(["resume", "--state", str(path)]) == 0
    assert not PauseSwitch(path).is_paused()


def test_pause_is_recorded_if_either_copy_can_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("OPSLADDER_PAUSE_LEDGER", str(tmp_path / "a-file" / "ledger"))
    path = tmp_path / "pause.json"
    assert main(["pause", "--state", str(path), "--reason", "one copy"]) == 0
    assert "warning: cannot write" in capsys.readouterr().err
    assert PauseSwitch(path).is_paused()
    with pytest.raises(PauseStateError, match="could not be recorded anywhere"):
        PauseSwitch(tmp_path / "a-file" / "state" / "pause.json").pause("no copy")  # anchor too


def test_resume_on_a_full_disk_fails_and_stays_paused(
    tmp_path: Path, file_size_limit: Callable[[int], None]
) -> None:
    path = tmp_path / "pause.json"
    PauseSwitch(path).pause("incident")
    file_size_limit(1)
    try:
        with pytest.raises(PauseStateError, match="still reads paused"):
            PauseSwitch(path).resume()
    finally:
        file_size_limit(2**40)
    assert "incident" in blocked(path)


def test_a_pause_on_a_full_disk_is_refused_loudly(
    tmp_path: Path, file_size_limit: Callable[[int], None]
) -> None:
    path = tmp_path / "pause.json"
    file_size_limit(1)
    try:
        with pytest.raises(PauseStateError, match="could not be recorded anywhere"):
            PauseSwitch(path).pause("incident")
    finally:
        file_size_limit(2**40)


_READER = """
import sys
from pytest_opsladder.blast_radius.pause import PauseSwitch
switch = PauseSwitch(sys.argv[1], recheck_interval=3600)
print(switch.is_paused(), flush=True)
for line in sys.stdin:
    print(switch.is_paused(), flush=True)
"""


def test_truncating_or_replacing_the_signal_file_never_crashes_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "pause.json"
    signal_file = tmp_path / "pause.json.signal"
    PauseSwitch(path).resume()
    with subprocess.Popen(
        [sys.executable, "-c", _READER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as reader:
        assert reader.stdin is not None
        assert reader.stdout is not None

        def ask() -> str:
            reader.stdin.write("\n")  # type: ignore[union-attr]
            reader.stdin.flush()  # type: ignore[union-attr]
            return reader.stdout.readline().strip()  # type: ignore[union-attr]

        assert reader.stdout.readline().strip() == "False"
        os.truncate(signal_file, 0)  # a mapped reader would die of SIGBUS here
        assert ask() == "False"
        PauseSwitch(path).pause("after truncation")
        assert ask() == "True"
        os.truncate(signal_file, 3)  # shrunk mid-token
        PauseSwitch(path).resume()
        assert ask() == "False"
        reader.stdin.close()
        assert reader.wait(timeout=30) == 0


def test_a_fifo_in_place_of_the_signal_file_blocks_nobody(tmp_path: Path) -> None:
    path = tmp_path / "pause.json"
    signal_file = tmp_path / "pause.json.signal"
    os.mkfifo(signal_file)
    assert status(path)[0] == 0  # never paused, and the FIFO is never opened to block
    switch = PauseSwitch(path)
    assert not switch.is_paused()
    PauseSwitch(path).pause("with a FIFO sidecar")  # the writer swaps a regular file in
    assert signal_file.is_file()
    assert switch.is_paused()
    assert status(path, "none")[0] == 1


def _cli(*args: str, env: dict[str, str], user: list[str] | None = None) -> tuple[int, str]:
    """``opsladder ARGS`` in its own process with ``env`` (as another user with ``user``)."""
    cmd = [*(user or []), sys.executable, "-m", "pytest_opsladder.cli", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, check=False)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("survivor", ["ledger", "anchor"])
def test_a_pause_set_through_a_symlinked_directory_binds_the_real_path_too(
    tmp_path: Path, survivor: str
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    operator = tmp_path / "link" / "pause.json"  # the operator names the link
    assert main(["pause", "--state", str(operator), "--reason", "incident 9"]) == 0
    anchors = sorted((tmp_path / ".opsladder-pause-ledger").glob("*"))  # beside real/
    for copy in anchors if survivor == "ledger" else [ledger_entry(operator)]:
        copy.unlink()  # one copy besides the state file is enough
    agent = tmp_path / "real" / "pause.json"  # the agent names the real directory
    agent.unlink()
    assert "incident 9" in blocked(agent)
    code, out = status(agent, "none")
    assert code == 1, out
    assert f"the state file {agent} is missing" in out
    assert f"opsladder resume --state {agent}" in out
    assert len(anchors) == 1


def test_deleting_the_state_directory_keeps_agents_with_another_home_paused(
    tmp_path: Path,
) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPSLADDER_PAUSE_LEDGER", "XDG_STATE_HOME")
    }
    operator = {**env, "HOME": str(tmp_path / "ophome")}
    agent = {**env, "HOME": str(tmp_path / "agenthome")}  # a service with its own HOME
    state = str(tmp_path / "state" / "pause.json")
    assert _cli("pause", "--state", state, "--reason", "incident 11", env=operator)[0] == 0
    shutil.rmtree(tmp_path / "state")
    code, out = _cli("status", "--state", state, env=agent)
    assert code == 1, out
    assert out.startswith("paused since")
    assert "incident 11; the state file" in out
    assert _cli("resume", "--state", state, env=operator)[0] == 0  # explicit running state
    assert _cli("status", "--state", state, env=agent) == (0, "running: not paused\n")


def test_resume_by_root_reaches_agents_running_as_another_user(tmp_path: Path) -> None:
    shared = Path(tempfile.mkdtemp(prefix="opsladder-pause-"))  # not under pytest's 0700 dirs
    try:
        os.chmod(shared, 0o755)
        env = {**os.environ, "OPSLADDER_PAUSE_LEDGER": str(shared / "ledger")}
        state = str(shared / "state" / "pause.json")
        assert _cli("pause", "--state", state, env=env)[0] == 0
        code, out = _cli("resume", "--state", state, env=env)
        assert code == 0, out
        if os.geteuid() == 0:  # only root can read as another user here
            nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            seen = _cli("status", "--state", state, env=env, user=nobody)
            assert seen == (0, "running: not paused\n")
        wrote = [line.split("wrote ", 1)[1] for line in out.splitlines() if "wrote " in line]
        assert [stat.filemode(os.stat(path).st_mode) for path in wrote] == ["-rw-r--r--"] * 3
        assert wrote[0] == state  # then the ledger, then the anchor beside the state's directory
        assert wrote[2].startswith(str(shared / ".opsladder-pause-ledger"))
    finally:
        shutil.rmtree(shared)


RESULTS = {"format": "pytest-opsladder/results", "schema_version": 1, "verdict": "pass"}
FOREIGN = {
    "results-json": json.dumps(RESULTS),
    "object": '{"a": 1}',
    "list": "[1, 2]",
    "string": '"paused"',
    "null": "null",
    "text": "my notes\n",
    "bytes": "\x00\x01binary",
    "paused-not-bool": '{"paused": "no"}',
}


@pytest.mark.parametrize("content", list(FOREIGN.values()), ids=list(FOREIGN))
@pytest.mark.parametrize("command", ["pause", "resume"])
def test_pause_and_resume_never_overwrite_a_file_that_is_not_a_pause_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, content: str
) -> None:
    # seen: `opsladder pause --state reports/results.json` replaced the results with a
    # pause record and exited 0
    path = tmp_path / "reports" / "results.json"
    path.parent.mkdir()
    path.write_text(content)
    assert main([command, "--state", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"opsladder {command}: error: refusing to overwrite {str(path)!r}: ")
    assert "Nothing was written. Pass --state the pause state file" in err
    assert path.read_text() == content
    assert not ledger_entry(path).exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["reports", "results.json"]


def test_a_damaged_state_of_a_pause_that_was_set_can_still_be_resumed(tmp_path: Path) -> None:
    path = tmp_path / "state" / "pause.json"
    PauseSwitch(path).pause("incident 9")
    path.write_text('{"paused": "no"}')  # a hand edit gone wrong
    assert main(["resume", "--state", str(path)]) == 0
    assert json.loads(path.read_text())["paused"] is False
