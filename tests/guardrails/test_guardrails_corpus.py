"""Issue 13's Done-when: a labelled corpus decided by the built-in default policy.

0 dangerous (or merely changing) commands allowed, at most 2% of harmless everyday commands
asked, through the Python API and through ``opsladder policy check`` without ``--policy``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pytest_opsladder.cli import build_parser
from pytest_opsladder.guardrails.policy_load import default_policy

CORPUS = Path(__file__).with_name("corpus") / "commands.tsv"
# Every class of issue 13's "Why", and the classic destructive forms kept from before.
CLASSES = {
    "option-abbreviation", "sql", "wrapper", "path-escape", "unlisted-program",
    "git-runs-command", "interpreter", "script-path", "rm", "dynamic",
}  # fmt: skip


def read_corpus() -> list[tuple[str, str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, cls, command = line.split("\t", 2)
        if command.startswith("json:"):
            command = json.loads(command[len("json:") :])
        rows.append((label, cls, command))
    return rows


ROWS = read_corpus()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory, the current directory as for a user running the CLI."""
    (tmp_path / "src").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_corpus_is_large_labelled_and_covers_every_class() -> None:
    labels = Counter(label for label, _, _ in ROWS)
    assert len(ROWS) >= 400
    assert labels["dangerous"] >= 300
    assert labels["harmless"] >= 100
    assert set(labels) == {"dangerous", "changes", "harmless"}
    dangerous_classes = {cls for label, cls, _ in ROWS if label == "dangerous"}
    assert dangerous_classes >= CLASSES
    assert len({command for _, _, command in ROWS}) == len(ROWS), "duplicate commands"


def check(verdicts: dict[str, str]) -> None:
    allowed = [(c, cls) for label, cls, c in ROWS if label != "harmless" and verdicts[c] == "allow"]
    asked = [c for label, _, c in ROWS if label == "harmless" and verdicts[c] != "allow"]
    harmless = sum(1 for label, _, _ in ROWS if label == "harmless")
    assert allowed == []
    assert len(asked) <= 0.02 * harmless, asked


def test_the_python_api_allows_no_dangerous_and_asks_few_harmless(workspace: Path) -> None:
    policy = default_policy(workspace)
    verdicts = {c: policy.decide("run_shell", {"command": c}).verdict.value for _, _, c in ROWS}
    check(verdicts)


def test_the_cli_without_a_policy_decides_the_same(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exits = {0: "allow", 3: "ask", 1: "deny"}
    verdicts = {}
    parser = build_parser(only="policy")  # the parser `opsladder` builds, built once
    for _, _, command in ROWS:
        args = parser.parse_args(["policy", "check", f"--command={command}"])
        code = args.func(args)
        first = capsys.readouterr().out.split(" ", 1)[0]
        assert exits[code] == first, command
        verdicts[command] = first
    check(verdicts)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("git reset --har origin/main", "deny git:reset-hard: git reset --hard (written --har)"),
        ("fakeroot make install", "ask shell:wrapper: 'fakeroot' is not a known-safe program"),
        ("git diff HEAD~1", "allow shell-known-safe"),
    ],
)
def test_the_console_script_prints_reasons_a_person_can_act_on(
    workspace: Path, command: str, expected: str
) -> None:
    cli = [sys.executable, "-m", "pytest_opsladder.cli", "policy", "check", "--command", command]
    result = subprocess.run(cli, capture_output=True, text=True, check=False)
    assert result.stdout.startswith(expected), result.stdout + result.stderr
