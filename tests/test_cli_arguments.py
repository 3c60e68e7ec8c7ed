"""Option values out of range are usage errors (exit 2) naming the option, before any work:
a port past 65535, a negative seed, a suite too large to simulate, a NaN effect. An address the
machine cannot listen on is the command's named error. Never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_opsladder.cli import main

SMALL = ["--cases", "20", "--sims", "2", "--power-sims", "2", "--mde-suites", "2"]


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("value", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_a_usage_error(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # seen: `monitors serve --port 99999` -> OverflowError: bind(): port must be 0-65535
    db = str(tmp_path / "m.sqlite")
    err = _usage_error(["monitors", "serve", "--db", db, "--port", value], capsys)
    assert f"argument --port: {value!r} is not a TCP port: use 0 (a free port) to 65535" in err
    err = _usage_error(["review", "--serve", "--store", str(tmp_path), "--port", value], capsys)
    assert "argument --port" in err


def test_an_address_this_machine_cannot_listen_on_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine
    argv = ["monitors", "serve", "--db", str(tmp_path / "m.sqlite"), "--host", "192.0.2.1"]
    assert main([*argv, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "cannot listen on 192.0.2.1:0" in err
    assert "Pass --host an address of this machine" in err


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--seed", "-1", "from 0 to 4,294,967,295"),
        ("--cases", "99999999999", "from 1 to 100,000"),
        ("--epochs", "0", "from 1 to 100"),
        ("--sims", "many", "from 1 to 1,000,000"),
    ],
)
def test_selfcheck_sizes_out_of_range_are_usage_errors(
    option: str, value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # seen: --seed -1 -> ValueError traceback; --cases 99999999999 -> numpy MemoryError
    err = _usage_error(["selfcheck", *SMALL, option, value], capsys)
    assert f"argument {option}: {value!r} must be an integer {says}" in err


@pytest.mark.parametrize("effect", ["pass_drop=nan", "latency_ratio=inf"])
def test_selfcheck_refuses_an_effect_that_is_not_a_finite_number(
    effect: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # seen: pass_drop=nan simulated nonsense and printed "selfcheck: PASS", exit 0
    assert main(["selfcheck", *SMALL, "--effect", effect]) == 2
    captured = capsys.readouterr()
    assert f"--effect {effect!r}" in captured.err
    assert "is not a finite number" in captured.err
    assert "PASS" not in captured.out
