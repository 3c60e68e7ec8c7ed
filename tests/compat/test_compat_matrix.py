"""The compatibility matrix: a small agent project through record, replay and shadow under each
of the plugins agent teams use (pytest-asyncio strict and auto, pytest-cov, pytest-recording,
pytest-randomly, pytest-timeout, pytest-xdist).

Each cell is three real pytest sessions (subprocesses) in its own copy of the project, with the
plugin under test loaded and the other optional ones switched off; the cells run concurrently.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.compat.agent_project import write_project

REPO = Path(__file__).resolve().parents[2]
# plugin name (as -p no:NAME takes it) -> the module that must be importable
OPTIONAL_PLUGINS = {
    "pytest_cov": "pytest_cov",
    "recording": "pytest_recording",
    "randomly": "pytest_randomly",
    "timeout": "pytest_timeout",
    "xdist": "xdist",
    "xdist.looponfail": "xdist",
}
RUNS = 6  # test_agent.py's four runs (one test parametrized twice) and the two nightmare cases


@dataclass(frozen=True)
class Cell:
    name: str
    keep: tuple[str, ...] = ()  # the optional plugins this cell loads
    args: tuple[str, ...] = ()  # for every session of the cell
    record: tuple[str, ...] = ()
    replay: tuple[str, ...] = ()
    shadow: tuple[str, ...] = ()
    vcr: bool = False  # add pytest-recording's own vcr-marked test


CELLS = (
    Cell("asyncio-strict", args=("-o", "asyncio_mode=strict")),
    Cell("asyncio-auto", args=("-o", "asyncio_mode=auto")),
    Cell("cov", keep=("pytest_cov",), args=("--cov=agentlib", "--cov-report=")),
    Cell(
        "recording",
        keep=("recording",),
        record=("--record-mode=once",),
        replay=("--record-mode=none",),
        shadow=("--record-mode=none",),
        vcr=True,
    ),
    Cell(
        "randomly",
        keep=("randomly",),
        record=("--randomly-seed=1",),
        replay=("--randomly-seed=2",),
        shadow=("--randomly-seed=3",),
    ),
    Cell("timeout", keep=("timeout",), args=("--timeout=120",)),
    Cell("xdist", keep=("xdist", "xdist.looponfail"), args=("-n", "2")),
)


def _missing_plugins() -> list[str]:
    modules = {*OPTIONAL_PLUGINS.values(), "pytest_asyncio"}
    return sorted(m for m in modules if importlib.util.find_spec(m) is None)


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "COV_CORE_", "COVERAGE_")) and k != "PYTHONHASHSEED"
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _pytest(root: Path, cell: Cell, *args: str) -> subprocess.CompletedProcess[str]:
    off = [a for name in OPTIONAL_PLUGINS if name not in cell.keep for a in ("-p", f"no:{name}")]
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *off, *cell.args, *args]
    return subprocess.run(
        command, cwd=root, env=_env(), capture_output=True, text=True, timeout=300, check=False
    )


def _problem(step: str, done: subprocess.CompletedProcess[str], expect: str) -> str | None:
    if done.returncode == 0 and expect in done.stdout:
        return None
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
    return f"{step}: exit {done.returncode}, expected {expect!r} in the output\n{tail}"


def run_cell(cell: Cell, root: Path) -> list[str]:
    """Record, replay, shadow (and, with pytest-recording, validate); the problems found."""
    write_project(root, with_vcr=cell.vcr)
    steps = (
        ("record", ("--opsladder-mode=record", *cell.record), f"{RUNS} recorded, 0 replayed"),
        ("replay", cell.replay, f"0 recorded, {RUNS} replayed"),
        ("shadow", ("--opsladder-shadow", *cell.shadow), "opsladder (shadow)"),
    )
    for step, args, expect in steps:
        problem = _problem(step, _pytest(root, cell, *args), expect)
        if problem:
            return [f"[{cell.name}] {problem}"]
    return _vcr_checks(cell, root) if cell.vcr else []


def _vcr_checks(cell: Cell, root: Path) -> list[str]:
    """pytest-recording wrote its own cassette apart from ours, and validate skips it."""
    problems = []
    if not (root / "cassettes" / "test_vcr").is_dir():
        problems.append(f"[{cell.name}] pytest-recording wrote no cassette")
    done = subprocess.run(
        [sys.executable, "-m", "pytest_opsladder.cli", "cassette", "validate", "cassettes"],
        cwd=root, env=_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    problem = _problem("cassette validate", done, "SKIP ")
    return problems + ([f"[{cell.name}] {problem}"] if problem else [])


def test_matrix_record_replay_shadow_under_each_plugin(tmp_path: Path) -> None:
    missing = _missing_plugins()
    if missing:
        pytest.skip(f"the matrix needs {', '.join(missing)}: pip install -e '.[test]'")
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.map(lambda cell: run_cell(cell, tmp_path / cell.name), CELLS)
        problems = [p for cell_problems in found for p in cell_problems]
    assert not problems, "\n\n".join(problems)
