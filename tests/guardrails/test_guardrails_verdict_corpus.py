"""The operator's corpus: the verdict a careful operator expects for each command.

``corpus/verdicts.tsv`` lists commands an agent might run (cloud and cluster tools, git,
files, services, packages, databases, the network, interpreters, wrappers and quoting
tricks, and the everyday read-only commands that must keep running unasked), each with the
verdict the rule of ladder level 4 gives it: allow what is known to be safe, ask for the
rest, deny the destructive. Each command goes through the built-in default policy the way an
agent's call reaches it: a ``run_terminal_cmd`` tool guarded by :class:`Guardrails` in a
recorded run, with no approver. Allow runs the tool, ask stops it for approval, deny refuses.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_opsladder import Case, Mode, RunRecorder, Variant, tool
from pytest_opsladder.guardrails import (
    ApprovalRequired,
    GuardrailDenied,
    Guardrails,
    Policy,
)
from pytest_opsladder.guardrails.policy_load import default_policy

CORPUS = Path(__file__).with_name("corpus") / "verdicts.tsv"
AREAS = {
    "kubectl", "helm", "terraform", "aws", "gcloud", "az", "docker", "git", "files", "system",
    "packages", "db", "net", "interp", "wrap", "safe", "outside",
}  # fmt: skip
RAN: list[str] = []


@tool(name="run_terminal_cmd")
def run_terminal_cmd(command: str) -> str:
    RAN.append(command)  # the guard let it through; nothing is executed
    return "ok"


def read_corpus() -> list[tuple[str, str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        expect, area, command = line.split("\t", 2)
        if command.startswith("json:"):
            command = json.loads(command[len("json:") :])
        rows.append((expect, area, command))
    return rows


ROWS = read_corpus()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "src").mkdir()
    (root / "src" / "main.py").write_text("print('hi')\n")
    (root / "README.md").write_text("# project\n")
    (root / "package.json").write_text("{}\n")
    return root


@pytest.fixture(scope="module")
def policy(workspace: Path) -> Policy:
    return default_policy(workspace)


@pytest.fixture
def guarded(
    policy: Policy, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunRecorder]:
    monkeypatch.chdir(workspace)  # where the agent's shell runs
    RAN.clear()
    with RunRecorder(Case("ops"), Variant("agent"), None, mode=Mode.RECORD) as run:
        Guardrails(policy, scoped_only=True).install(run)
        yield run


def test_the_corpus_is_large_labelled_and_covers_every_area() -> None:
    expected = Counter(expect for expect, _, _ in ROWS)
    assert len(ROWS) >= 300
    assert set(expected) == {"allow", "ask", "deny"}
    assert min(expected.values()) >= 60, expected
    assert {area for _, area, _ in ROWS} == AREAS
    assert len({command for _, _, command in ROWS}) == len(ROWS), "duplicate commands"


def verdict_of(command: str) -> str:
    try:
        run_terminal_cmd(command)
    except GuardrailDenied:
        return "deny"
    except ApprovalRequired:
        return "ask"
    assert [command] == RAN
    return "allow"


@pytest.mark.parametrize(
    ("expect", "command"),
    [pytest.param(expect, command, id=f"{area}:{command[:60]}") for expect, area, command in ROWS],
)
def test_each_command_gets_the_verdict_an_operator_expects(
    guarded: RunRecorder, policy: Policy, expect: str, command: str
) -> None:
    got = verdict_of(command)
    why = policy.decide("run_terminal_cmd", {"command": command}).line()
    assert got == expect, f"{command!r}: expected {expect}, the guard said {why}"
