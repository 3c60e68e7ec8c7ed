"""Bad input gets a decision (ask or deny) with a reason, never an exception (issue 13)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_opsladder.guardrails import Policy
from pytest_opsladder.guardrails.policy_load import default_policy


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return default_policy(tmp_path)


BAD = {
    "100 KB command": "ls " + "a" * 100_000,
    "100 KB with rm": "rm -rf / ; " + "x" * 100_000,
    "NUL byte": "ls\x00 -la",
    "NUL in rm": "rm -rf /\x00",
    "invalid UTF-8 (surrogate escapes)": b"ls \xff\xfe".decode("utf-8", "surrogateescape"),
    "lone surrogate": "cat \ud800",
    "unbalanced single quote": "echo 'abc",
    "unbalanced double quote": 'grep "x src',
    "unbalanced parenthesis": "ls (",
    "unbalanced backtick": "echo `ls",
    "unterminated here-doc": "cat <<EOF\nabc",
    "only operators": ";;&&||",
    "empty": "",
    "SQL that never ends": 'sqlite3 app.db "select \'x"',
    "SQL with a NUL": "sqlite3 app.db 'select 1\x00'",
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_gets_ask_or_deny_with_a_reason(policy: Policy, name: str) -> None:
    decision = policy.decide("run_shell", {"command": BAD[name]})
    assert decision.verdict.value in ("ask", "deny"), name
    assert decision.reason


@pytest.mark.parametrize(
    "query", ["SELECT 1 " + "-- x\n" * 30_000, "DROP TABLE t\x00", b"DROP".decode() + "\udcff"]
)
def test_bad_sql_gets_a_decision_with_a_reason(policy: Policy, query: str) -> None:
    decision = policy.decide("run_sql", {"query": query})
    assert decision.verdict.value in ("ask", "deny")
    assert decision.reason


@pytest.mark.parametrize("value", [b"ls", 7, None, ["rm", "-rf", "/"], {"a": 1}])
def test_a_command_that_is_not_text_asks(policy: Policy, value: object) -> None:
    decision = policy.decide("run_shell", {"command": value})
    assert (decision.verdict.value, decision.rule) == ("ask", "shell:unreadable")


def test_random_bytes_never_raise_and_never_allow_non_ascii(policy: Policy) -> None:
    rng = random.Random(13)
    pieces = ["rm", " -rf", " /", "'", '"', "$(", ")", "|", ";", "\\", "\n", "<<", "git", "--har"]
    for _ in range(300):
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 30)))
        text = raw.decode("utf-8", "surrogateescape") + "".join(rng.choices(pieces, k=4))
        decision = policy.decide("run_shell", {"command": text})
        if not text.isascii() or "\x00" in text:
            assert decision.verdict.value != "allow", text


def test_the_cli_decides_invalid_utf8_and_huge_arguments(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "pytest_opsladder.cli", "policy", "check", "--command"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:backslashreplace"}
    for argument in (b"ls \xff\xfe", b"ls " + b"a" * 100_000):
        result = subprocess.run([*cli, argument], capture_output=True, cwd=tmp_path, env=env)  # type: ignore[list-item]
        assert result.returncode == 3, result.stderr
        assert result.stdout.startswith(b"ask shell:dynamic: "), result.stdout
