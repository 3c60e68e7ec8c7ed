"""``opsladder monitors``: the commands a scheduler and an operator run (ladder level 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_opsladder.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_opsladder.cli", "monitors", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_add_and_send_from_the_command_line(tmp_path: Path) -> None:
    from pytest_opsladder.schedule.state import MonitorStore

    db = str(tmp_path / "m.sqlite")
    assert run("add", "nightly", "--every", "1d", "--grace", "10m", "--db", db).returncode == 0
    started = run("send", "nightly", "start", "--db", db)
    assert started.returncode == 0
    run_id = started.stdout.strip()
    assert len(run_id) == 32
    assert run("send", "nightly", "success", "--run-id", run_id, "--db", db).returncode == 0
    receipts = MonitorStore(db).receipts("nightly")
    assert [(r["kind"], r["run_id"], r["open"]) for r in receipts] == [
        ("success", run_id, 0),
        ("start", run_id, 0),
    ]


def test_check_from_another_scheduler_exits_1_and_alerts(tmp_path: Path) -> None:
    import time

    from pytest_opsladder.schedule.monitors import Monitor
    from pytest_opsladder.schedule.state import MonitorStore

    db = str(tmp_path / "m.sqlite")
    two_hours_ago = time.time() - 7200
    MonitorStore(db, clock=lambda: two_hours_ago).add(Monitor.create("etl", every="1h", grace=60))
    alerts = tmp_path / "alerts.jsonl"
    checked = run("check", "--db", db, "--sink", f"file:{alerts}")
    assert checked.returncode == 1
    assert "etl" in checked.stdout
    assert "down (missed): missed" in checked.stdout
    assert json.loads(alerts.read_text().splitlines()[0])["kind"] == "missed"


def test_send_never_fails_the_job(tmp_path: Path) -> None:
    result = run(
        "send",
        "nope",
        "success",
        "--db",
        str(tmp_path / "m.sqlite"),
        "--spool",
        str(tmp_path / "spool"),
    )
    assert result.returncode == 0
    assert "refused, dropped" in result.stderr  # an unknown monitor: retrying cannot help
    assert "no monitor named 'nope'" in result.stderr


def test_send_to_a_receiver_that_is_down_spools_and_exits_0(tmp_path: Path, down_url: str) -> None:
    spool = tmp_path / "spool"
    result = run(
        "send",
        "etl",
        "fail",
        "--target",
        down_url,
        "--timeout",
        "0.5",
        "--message",
        "boom",
        "--spool",
        str(spool),
    )
    assert result.returncode == 0
    assert "spooled for retry" in result.stderr
    assert json.loads(spool.read_text())["kind"] == "fail"
    db = str(tmp_path / "m.sqlite")
    assert main(["monitors", "add", "etl", "--every", "1h", "--db", db]) == 0
    flushed = run("flush", "--db", db, "--spool", str(spool))
    assert "delivered 1 receipt(s); 0 still waiting" in flushed.stdout
    from pytest_opsladder.schedule.state import MonitorStore

    assert [r["message"] for r in MonitorStore(db).receipts("etl")] == ["boom"]


def test_pause_resume_list_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "m.sqlite")
    assert (
        main(["monitors", "add", "r", "--cron", "0 3 * * *", "--tz", "Europe/Berlin", "--db", db])
        == 0
    )
    assert main(["monitors", "pause", "r", "--db", db]) == 0
    assert main(["monitors", "list", "--db", db]) == 0
    assert "r" in capsys.readouterr().out.splitlines()[-1]
    assert main(["monitors", "check", "--db", db]) == 0
    assert "paused" in capsys.readouterr().out
    assert main(["monitors", "resume", "r", "--db", db]) == 0
    assert main(["monitors", "remove", "r", "--db", db]) == 0
    assert main(["monitors", "pause", "r", "--db", db]) == 2
    assert "no monitor named 'r'" in capsys.readouterr().err


def test_bad_cron_on_the_command_line_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["monitors", "add", "x", "--cron", "every day", "--db", str(tmp_path / "m")]) == 2
    assert "cron expression 'every day' is invalid" in capsys.readouterr().err


def test_serve_receives_receipts_over_http(tmp_path: Path) -> None:
    import socket
    import urllib.request

    from pytest_opsladder.schedule.state import MonitorStore

    db = str(tmp_path / "m.sqlite")
    assert main(["monitors", "add", "web", "--every", "1h", "--db", db]) == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "pytest_opsladder.cli",
        "monitors",
        "serve",
        "--db",
        db,
        "--port",
        str(port),
    ]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            assert "receiving receipts on http://127.0.0.1:" in server.stdout.readline()
            url = f"http://127.0.0.1:{port}/ping/web/success"
            request = urllib.request.Request(url, b"", method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 202
        finally:
            server.terminate()
            server.wait(timeout=10)
    assert [r["kind"] for r in MonitorStore(db).receipts("web")] == ["success"]


@pytest.mark.parametrize(("timeout", "code"), [('"5s"', 0), ('"fast"', 2)])
def test_a_sinks_file_timeout_is_a_duration_or_a_named_error_exit_2(
    tmp_path: Path, timeout: str, code: int
) -> None:
    db = str(tmp_path / "m.sqlite")
    assert main(["monitors", "add", "etl", "--every", "1h", "--db", db]) == 0
    sinks = tmp_path / "sinks.toml"
    sinks.write_text(
        f'[[sink]]\ntype = "webhook"\nurl = "http://127.0.0.1:1/x"\ntimeout = {timeout}\n'
    )
    result = run("check", "--db", db, "--sinks-file", str(sinks))
    assert result.returncode == code
    assert "Traceback" not in result.stderr
    if code:
        assert "sink 'webhook:http://127.0.0.1:1/x': timeout 'fast'" in result.stderr


def test_send_to_a_target_without_a_scheme_says_so_and_exits_0(tmp_path: Path) -> None:
    result = run("send", "etl", "start", "--target", "monitors.internal:8787")
    assert result.returncode == 0
    assert "receipt not sent" in result.stderr
    assert "'monitors.internal:8787'" in result.stderr


def test_check_alerts_through_the_sinks_file_and_every_sink_flag_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # seen: with --sinks-file, every --sink was silently dropped: no alert reached it
    db = str(tmp_path / "m.sqlite")
    assert main(["monitors", "add", "etl", "--every", "1h", "--db", db]) == 0
    assert main(["monitors", "send", "etl", "fail", "--db", db]) == 0
    from_file, from_flag = tmp_path / "file-sink.jsonl", tmp_path / "flag-sink.jsonl"
    sinks = tmp_path / "sinks.toml"
    sinks.write_text(f'[[sink]]\ntype = "file"\npath = "{from_file}"\n')
    argv = ["monitors", "check", "--db", db, "--sinks-file", str(sinks)]
    assert main([*argv, "--sink", f"file:{from_flag}"]) == 1
    for path in (from_file, from_flag):
        assert json.loads(path.read_text().splitlines()[0])["name"] == "etl"


@pytest.mark.parametrize("name", ["sinks.yaml", "alert-sinks"])
def test_a_sinks_file_of_another_name_is_read_as_a_file_not_as_a_sink_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    # seen: `--sinks-file sinks.yaml` -> "'sinks.yaml' is not a valid sink type"
    db = str(tmp_path / "m.sqlite")
    assert main(["monitors", "add", "etl", "--every", "1h", "--db", db]) == 0
    sinks = tmp_path / name
    sinks.write_text("sink:\n  - type: stderr\n")
    assert main(["monitors", "check", "--db", db, "--sinks-file", str(sinks)]) == 2
    err = capsys.readouterr().err
    assert f"cannot read sinks file {sinks}: not valid TOML" in err
    assert "not a valid sink type" not in err


@pytest.mark.parametrize(
    "content", ['{"format": "pytest-opsladder/results", "cases": []}\n', "my notes\n"]
)
def test_a_spool_path_holding_someone_elses_file_is_refused_and_left_alone(
    tmp_path: Path, down_url: str, content: str
) -> None:
    # seen: `monitors flush --spool reports/results.json` took the file away and set its
    # lines aside in results.json.bad as "not a receipt"; `send` appended a receipt to it
    victim = tmp_path / "results.json"
    victim.write_text(content)
    flushed = run("flush", "--target", down_url, "--timeout", "0.5", "--spool", str(victim))
    assert flushed.returncode == 2
    assert f"the receipts spool {str(victim)!r} holds something other than receipts" in (
        flushed.stderr
    )
    sent = run(
        "send", "etl", "start", "--target", down_url, "--timeout", "0.5", "--spool", str(victim)
    )
    assert sent.returncode == 0  # a receipt never fails the job that sends it
    assert "receipt not sent: the receipts spool" in sent.stderr
    assert victim.read_text() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_a_spool_path_that_is_a_directory_is_named(tmp_path: Path, down_url: str) -> None:
    # seen: the receipt was silently lost (the spool write's error was swallowed)
    sent = run(
        "send", "etl", "fail", "--target", down_url, "--timeout", "0.5", "--spool", str(tmp_path)
    )
    assert sent.returncode == 0
    assert f"receipt not sent: the receipts spool {str(tmp_path)!r} is a directory" in sent.stderr
