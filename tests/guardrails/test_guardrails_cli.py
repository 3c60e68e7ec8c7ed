"""``opsladder policy check`` and ``opsladder policy test``, run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def opsladder(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest_opsladder.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    ("command", "first", "rule", "code"),
    [
        ("ls -la src", "allow", "shell-allowed", 0),
        ("sudo timeout 3 rm -fr build", "deny", "shell:rm-recursive-force", 1),
        ('echo "rm -rf /"', "allow", "shell-allowed", 0),
        ("ls $HOME", "ask", "shell:dynamic", 3),
        ("psql -c 'drop table users'", "deny", "sql:drop", 1),
    ],
)
def test_check_a_command_prints_the_verdict_first(
    policy_file: Path, command: str, first: str, rule: str, code: int
) -> None:
    result = opsladder("policy", "check", "--policy", str(policy_file), "--command", command)
    words = result.stdout.split()
    assert (words[0], words[1].rstrip(":")) == (first, rule), result.stdout + result.stderr
    assert result.returncode == code


@pytest.mark.parametrize(
    ("tool", "args", "first", "rule"),
    [
        ("refund", '{"amount": 20}', "allow", "refunds-allowed"),
        ("refund", '{"amount": 500}', "deny", "refund-ceiling"),
        ("read_file", '{"path": "../../etc/passwd"}', "deny", "files-in-workspace"),
        ("search_orders", "null", "ask", "malformed-arguments"),
        ("search_orders", "[1, 2]", "ask", "malformed-arguments"),
        ("search_orders", '{"q": NaN}', "ask", "malformed-arguments"),
        ("search_orders", "{oops", "ask", "malformed-arguments"),
        ("delete_account", "{}", "deny", "no-deletes"),
    ],
)
def test_check_a_tool_call(policy_file: Path, tool: str, args: str, first: str, rule: str) -> None:
    result = opsladder(
        "policy", "check", "--policy", str(policy_file), "--tool", tool, "--args", args
    )
    assert result.stdout.split()[:2] == [first, rule + ":"], result.stdout + result.stderr


def test_check_explains_the_other_findings(policy_file: Path) -> None:
    result = opsladder(
        "policy", "check", "--policy", str(policy_file), "--command", "sudo rm -rf /"
    )
    assert result.stdout.startswith("deny shell:rm-recursive-force")
    assert "also: ask shell:wrapper: sudo runs as another user" in result.stdout
    assert "also: deny shell:path-outside-workspace" in result.stdout


def test_check_for_an_environment(policy_file: Path) -> None:
    args = ["policy", "check", "--policy", str(policy_file), "--tool", "refund"]
    result = opsladder(*args, "--args", '{"amount": 5}', "--environment", "prod")
    assert result.stdout.startswith("ask prod-refunds-ask")


def test_policy_test_runs_the_examples(policy_file: Path) -> None:
    result = opsladder("policy", "test", str(policy_file))
    assert result.returncode == 0, result.stderr
    assert "PASS ls-is-fine: expects allow, got allow shell-allowed" in result.stdout
    assert "PASS rm-rf-denied: expects deny, got deny" in result.stdout
    assert "2 passed, 0 failed" in result.stdout


def test_policy_test_reports_a_failing_example(tmp_path: Path, policy_toml: str) -> None:
    (tmp_path / "ws").mkdir()
    path = tmp_path / "p.toml"
    path.write_text(policy_toml.replace('command = "ls -la src"', 'command = "git push -f"'))
    result = opsladder("policy", "test", str(path))
    assert result.returncode == 1
    assert "FAIL ls-is-fine: expects allow, got deny git:force-push" in result.stdout
    check = opsladder("policy", "check", "--policy", str(path), "--command", "ls")
    assert check.returncode == 2
    assert "'ls-is-fine'" in check.stderr


def test_a_policy_with_an_unknown_key_is_an_error_naming_file_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[[rules]]\nid = "r1"\ntools = ["x"]\ndecision = "allow"\nwhen = "always"\n')
    result = opsladder("policy", "test", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert "'r1'" in result.stderr
    assert "['when']" in result.stderr


def test_command_needs_a_shell_tool(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[policy]\ndefault = 'deny'\n")
    result = opsladder("policy", "check", "--policy", str(path), "--command", "ls")
    assert result.returncode == 2
    assert "[shell]" in result.stderr
