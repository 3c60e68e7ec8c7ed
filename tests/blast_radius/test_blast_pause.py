"""Ladder level 6: the global pause blocks side effects at the next tool boundary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_opsladder.blast_radius.boundary_guard import BlastRadius
from pytest_opsladder.blast_radius.clocks import ManualClock
from pytest_opsladder.blast_radius.errors import PausedError
from pytest_opsladder.blast_radius.pause import PauseSwitch
from pytest_opsladder.capture.boundary import ToolBoundary
from pytest_opsladder.capture.run import Run, activate
from pytest_opsladder.capture.tools import tool
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cli import main

SENT: list[str] = []


def make_tools() -> tuple[Callable[[str], str], Callable[[str], str]]:
    """An outbound tool and a read-only one, defined per test (the registry is restored)."""
    SENT.clear()

    @tool(outbound=True)
    def send_sms(to: str) -> str:
        SENT.append(to)
        return "sent"

    @tool
    def lookup(customer: str) -> str:
        return f"customer {customer}"

    return send_sms, lookup


def new_run(switch: PauseSwitch) -> Run:
    run = Run(Case("c"), Variant("v"))
    run.boundary = ToolBoundary()
    BlastRadius(pause=switch).install(run)
    return run


def test_the_pause_flipped_mid_run_blocks_the_next_side_effect(tmp_path: Path) -> None:
    state = str(tmp_path / "pause.json")
    send_sms, lookup = make_tools()
    run = new_run(PauseSwitch(state))
    with activate(run):
        assert send_sms("+100") == "sent"
        assert main(["pause", "--state", state, "--reason", "bad deploy"]) == 0
        with pytest.raises(PausedError, match=r"tool 'send_sms' was refused.*bad deploy"):
            send_sms("+200")
        assert lookup("42") == "customer 42"  # reading is not a side effect
    assert SENT == ["+100"]
    blocked = run.events_of("pause_blocked")
    assert [(e.name, e.data["reason"]) for e in blocked] == [("tool 'send_sms'", "bad deploy")]
    run.finish()
    assert run.metrics["pause_blocked_calls"] == 1


def test_the_pause_is_sticky_until_resumed(tmp_path: Path) -> None:
    switch = PauseSwitch(tmp_path / "pause.json")
    switch.pause("incident 7")
    for _ in range(3):  # nothing but resume clears it: not time, not a new switch, not a run
        assert PauseSwitch(tmp_path / "pause.json").is_paused()
    switch.resume()
    send_sms, _ = make_tools()
    run = new_run(PauseSwitch(tmp_path / "pause.json"))
    with activate(run):
        assert send_sms("+1") == "sent"


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"paused": "no"}', b"", b"\xff\xfe"],
    ids=["bad-json", "not-an-object", "paused-not-bool", "empty", "not-utf8"],
)
def test_unreadable_state_means_paused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "pause.json"
    path.write_bytes(content)
    state = PauseSwitch(path).state()
    assert state.paused
    assert not state.readable
    with pytest.raises(PausedError, match="unreadable"):
        PauseSwitch(path).check()


def test_a_directory_in_place_of_the_state_means_paused(tmp_path: Path) -> None:
    (tmp_path / "pause.json").mkdir()
    assert PauseSwitch(tmp_path / "pause.json").is_paused()


def test_an_unreadable_state_file_means_paused(tmp_path: Path) -> None:
    path = tmp_path / "pause.json"
    PauseSwitch(path).resume()
    os.chmod(path, 0o000)
    script = (
        "import sys;from pytest_opsladder.blast_radius.pause import PauseSwitch\n"
        "print(PauseSwitch(sys.argv[1]).state())"
    )
    try:
        if os.geteuid() == 0:  # root reads anything: read it as a user who may not
            os.chmod(tmp_path, 0o711)
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        else:
            cmd = []
        done = subprocess.run(
            [*cmd, sys.executable, "-c", script, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.chmod(path, 0o644)
    if done.returncode != 0 and "Permission denied" in done.stderr and "python" in done.stderr:
        pytest.fail(f"could not run python as an unprivileged user: {done.stderr}")
    assert "paused=True" in done.stdout, done.stderr
    assert "readable=False" in done.stdout


def test_a_missing_state_is_running_unless_configured_otherwise(tmp_path: Path) -> None:
    assert not PauseSwitch(tmp_path / "none.json").is_paused()
    assert PauseSwitch(tmp_path / "none.json", missing_means_paused=True).is_paused()


def test_the_state_file_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "pause.json"
    PauseSwitch(path).pause("why", by="oncall")
    raw = json.loads(path.read_text())
    assert (raw["paused"], raw["reason"], raw["by"]) == (True, "why", "oncall")
    assert raw["since"].endswith("Z")
    assert sorted(p.name for p in path.parent.iterdir()) == ["pause.json", "pause.json.signal"]


def test_a_running_check_costs_one_pread_and_no_path_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    switch = PauseSwitch(tmp_path / "p.json")
    switch.resume()
    assert not switch.is_paused()
    stats: list[object] = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda *a, **kw: stats.append(a) or real_stat(*a, **kw))
    for _ in range(100):
        switch.check()
    assert stats == []
    PauseSwitch(tmp_path / "p.json").pause("now")  # another switch, as another process would
    assert switch.is_paused()  # seen at once, through the change token


def test_a_hand_edit_is_seen_within_the_recheck_interval(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "p.json"
    PauseSwitch(path).resume()
    switch = PauseSwitch(path, recheck_interval=1.0, clock=clock)
    assert not switch.is_paused()
    tmp = tmp_path / "edited.json"
    tmp.write_text('{"paused": true, "reason": "edited by hand"}')
    os.replace(tmp, path)  # no change token: only the periodic re-check can see it
    clock.advance(1.0)
    assert switch.state().reason == "edited by hand"


def test_a_deleted_signal_file_falls_back_to_the_state_file(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "p.json"
    PauseSwitch(path).resume()
    switch = PauseSwitch(path, clock=clock)
    assert not switch.is_paused()
    (tmp_path / "p.json.signal").unlink()
    PauseSwitch(path).pause("after the signal was deleted")
    clock.advance(1.0)
    assert switch.is_paused()


def test_cli_status_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "p.json")
    assert main(["status", "--state", state]) == 0
    assert "running" in capsys.readouterr().out
    assert main(["pause", "--state", state, "--reason", "deploy"]) == 0
    assert main(["status", "--state", state]) == 1
    assert "paused since" in capsys.readouterr().out
    assert main(["resume", "--state", state]) == 0
    assert main(["status", "--state", state]) == 0


def test_cli_reads_the_state_path_from_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, "OPSLADDER_PAUSE_FILE": str(tmp_path / "env.json")}
    cmd = [sys.executable, "-m", "pytest_opsladder.cli"]
    assert subprocess.run([*cmd, "pause"], env=env, check=False).returncode == 0
    status = subprocess.run([*cmd, "status"], env=env, check=False, capture_output=True, text=True)
    assert status.returncode == 1
    assert PauseSwitch(tmp_path / "env.json").is_paused()


def test_a_pause_reaches_another_process_at_its_next_boundary(tmp_path: Path) -> None:
    state = tmp_path / "p.json"
    script = (
        "import sys\nfrom pytest_opsladder.blast_radius.pause import PauseSwitch\n"
        "s = PauseSwitch(sys.argv[1])\nprint(s.is_paused(), flush=True)\n"
        "sys.stdin.readline()\nprint(s.is_paused(), flush=True)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, str(state)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdin is not None
        assert proc.stdout.readline().strip() == "False"
        PauseSwitch(state).pause("from elsewhere")
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "True"
        proc.wait(timeout=10)


def test_every_live_run_checks_the_default_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_opsladder import capture

    monkeypatch.setenv("OPSLADDER_PAUSE_FILE", str(tmp_path / "global.json"))
    send_sms, _ = make_tools()
    with capture(case_id="t1", variant="prod", store=tmp_path / "runs"):
        assert send_sms("+1") == "sent"
    assert main(["pause", "--reason", "stop everything"]) == 0
    with (
        pytest.raises(PausedError, match="stop everything"),
        capture(case_id="t2", variant="prod", store=tmp_path / "runs"),
    ):
        send_sms("+2")
    monkeypatch.setenv("OPSLADDER_PAUSE_GUARD", "off")
    with capture(case_id="t3", variant="prod", store=tmp_path / "runs"):
        assert send_sms("+3") == "sent"
    assert SENT == ["+1", "+3"]
