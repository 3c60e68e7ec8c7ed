"""What the ``opsladder`` command prints of user text shows every character: an ANSI escape, a
bell, a carriage return or a bidi control in a pause reason, a case id, a tag, a path or a
gate's reason is written out as an escape (``\\u001b``, ``\\u202e``), never acted on by the
terminal; and a newline inside one value cannot forge a line of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_opsladder._visible import HIDDEN
from pytest_opsladder.capture.production import capture
from pytest_opsladder.cli import main
from pytest_opsladder.reports.sample import sample_results
from pytest_opsladder.rollback.trash import Trash

REPO = Path(__file__).resolve().parents[1]
ANSI = "\x1b[2J\x1b[31m"  # clear the screen, then red
RLO = "\u202e"  # right-to-left override: "x\u202egpj.exe" reads as "xexe.jpg"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def shown(text: str) -> str:
    """``text`` after checking that it holds no character a terminal acts on."""
    acted_on = sorted({c for c in text if c in HIDDEN and c not in "\n\t"})
    assert acted_on == [], f"raw {acted_on!r} reached the terminal: {text!r}"
    return text


def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``opsladder ARGV`` as a user runs it: (exit code, stdout, stderr)."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "pytest_opsladder", *argv]
    done = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_a_pause_reason_cannot_drive_the_terminal_or_forge_a_status_line(tmp_path: Path) -> None:
    # seen: `opsladder status` wrote the reason's ESC sequences and bell verbatim: the screen
    # was cleared and recoloured; a newline in it printed a line "running: not paused"
    env = {"OPSLADDER_PAUSE_LEDGER": str(tmp_path / "ledger")}
    state = str(tmp_path / "state" / "pause.json")
    reason = f"{ANSI}incident\a 7{RLO}gpj.exe\r\nrunning: not paused"
    assert cli("pause", "--state", state, "--reason", reason, env=env)[0] == 0
    code, out, err = cli("status", "--state", state, env=env)
    assert code == 1, err
    assert shown(out).splitlines() == [out.splitlines()[0]]  # one line: nothing forged
    assert out.rstrip("\n").endswith(
        ": \\u001b[2J\\u001b[31mincident\\u0007 7\\u202egpj.exe\\r\\nrunning: not paused"
    )


@pytest.mark.parametrize("char", BIDI)
def test_a_case_id_with_a_bidi_control_shows_it_in_the_review_list(
    tmp_path: Path, char: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "runs"
    with capture(f"refund{char}gpj.exe", "prod", store, input={"m": 1}) as run:
        run.output = "ok"
    assert main(["review", "--list", "--store", str(store), "-n", "5"]) == 0
    out = shown(capsys.readouterr().out)
    assert f"refund\\u{ord(char):04x}gpj.exe" in out


def test_tags_paths_and_reasons_in_listings_are_shown_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(tmp_path / "nightmare_set")
    add = ["nightmare", "--dir", root, "add", "--id", "c1", "--input", '{"q": 1}']
    assert main([*add, "--tag", f"billing{RLO}x", "--check", "contains: ok"]) == 0
    assert main(["nightmare", "--dir", root, "list"]) == 0
    assert "tags=billing\\u202ex" in shown(capsys.readouterr().out)
    victim = tmp_path / f"notes{ANSI}.txt"
    victim.write_text("x")
    trash = Trash(tmp_path / "trash")
    trash.delete(victim)
    assert main(["trash", "--dir", str(trash.root), "list"]) == 0
    assert "notes\\u001b[2J\\u001b[31m.txt" in shown(capsys.readouterr().out)


def test_an_error_naming_a_path_shows_its_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / f"results{ANSI}{RLO}.json"
    assert main(["nightmare", "--dir", str(tmp_path), "record", str(missing)]) == 2
    err = shown(capsys.readouterr().err)
    assert "results\\u001b[2J\\u001b[31m\\u202e.json" in err


def test_the_gate_summary_printed_by_report_shows_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = sample_results(6, seed=2, regress_fraction=1.0)
    results["verdict_reason"] = f"{ANSI}all good{RLO}"
    results["cases"][0]["case_id"] = f"case{RLO}1"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results), "utf-8")
    assert main(["report", str(path), "-o", str(tmp_path / "out")]) == 0
    out = shown(capsys.readouterr().out)
    assert "\\u001b[2J\\u001b[31mall good\\u202e" in out


def test_json_output_through_the_filter_parses_to_the_same_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # review's verdict line is JSON (ensure_ascii=False): escaping a raw bidi control inside
    # a string there keeps the JSON valid and its value unchanged
    store = tmp_path / "runs"
    with capture("case-1", "prod", store, input={"m": 1}) as run:
        run.output = "ok"
    run_id = run.run_id
    note = f"refunded twice{RLO}{ANSI}"
    assert main(["review", run_id, "--store", str(store), "--verdict", "bad", "--note", note]) == 0
    line = shown(capsys.readouterr().out)
    assert json.loads(line)["note"] == note
