"""Shared helpers of the guardrail tests: a realistic policy file in a temporary workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_opsladder.guardrails import Policy, load_policy

POLICY_TOML = """
[policy]
name = "support-agent"
default = "ask"
workspace = "ws"

[[rules]]
id = "read-tools"
tools = ["search_*", "get_*", "read_file"]
decision = "allow"

[[rules]]
id = "shell-allowed"
tools = ["run_shell"]
decision = "allow"

[[rules]]
id = "sql-allowed"
tools = ["run_sql"]
decision = "allow"

[[rules]]
id = "email-needs-approval"
tools = ["send_*"]
decision = "ask"

[[rules]]
id = "send-newsletter-ok"
tools = ["send_newsletter"]
decision = "allow"

[[rules]]
id = "no-deletes"
tools = ["delete_*"]
decision = "deny"
reason = "deleting customer data is never automated"

[[rules]]
id = "prod-refunds-ask"
tools = ["refund"]
decision = "ask"
environments = ["prod"]

[[rules]]
id = "refunds-allowed"
tools = ["refund"]
decision = "allow"

[[constraints]]
id = "files-in-workspace"
tools = ["read_file"]
arg = "path"
kind = "path_in_workspace"

[[constraints]]
id = "fetch-hosts"
tools = ["get_url"]
arg = "url"
kind = "host_in"
hosts = ["docs.example.com", "*.internal.example.com"]

[[constraints]]
id = "refund-ceiling"
tools = ["refund"]
arg = "amount"
kind = "amount_max"
max = 100

[shell]
tools = ["run_shell"]
arg = "command"

[sql]
tools = ["run_sql"]
arg = "query"

[inputs]
max_chars = 2000
sources = ["user", "docs.example.com"]

[[examples]]
id = "ls-is-fine"
tool = "run_shell"
command = "ls -la src"
expect = "allow"

[[examples]]
id = "rm-rf-denied"
tool = "run_shell"
command = "rm -rf /"
expect = "deny"
"""


@pytest.fixture
def policy_toml() -> str:
    """The text of the shared test policy, to derive broken variants from."""
    return POLICY_TOML


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    (tmp_path / "ws" / "src").mkdir(parents=True)
    path = tmp_path / "policy.toml"
    path.write_text(POLICY_TOML)
    return path


@pytest.fixture
def policy(policy_file: Path) -> Policy:
    return load_policy(policy_file)
