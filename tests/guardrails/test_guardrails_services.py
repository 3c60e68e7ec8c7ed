"""Services, processes, cron, package registries and data stores: read, ask, or deny."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_opsladder.guardrails import Policy
from pytest_opsladder.guardrails.policy_load import default_policy


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return default_policy(tmp_path)


def line(policy: Policy, command: str) -> str:
    return policy.decide("run_shell", {"command": command}).line()


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("systemctl stop nginx", "shell:service-stop"),
        ("systemctl --now disable sshd", "shell:service-stop"),
        ("sudo systemctl mask docker", "shell:service-stop"),
        ("systemctl isolate rescue.target", "shell:service-stop"),
        ("service nginx stop", "shell:service-stop"),
        ("crontab -r", "shell:crontab-remove"),
        ("crontab -ir", "shell:crontab-remove"),
        ("crontab -u deploy -r", "shell:crontab-remove"),
        ("kill -9 -1", "shell:kill-all"),
        ("kill -KILL -1", "shell:kill-all"),
        ("kill -s TERM -1", "shell:kill-all"),
        ("kill -- -1", "shell:kill-all"),
        ("pkill -9 python", "shell:kill-all"),
        ("pkill -f gunicorn", "shell:kill-all"),
        ("killall node", "shell:kill-all"),
        ("npm unpublish my-pkg --force", "shell:unpublish"),
        ("pnpm unpublish my-pkg@1.0.0", "shell:unpublish"),
        ("redis-cli FLUSHALL", "sql:drop"),
        ("redis-cli -n 0 flushdb", "sql:drop"),
        ("redis-cli -h cache -p 6380 -a secret FLUSHALL ASYNC", "sql:drop"),
        ("redis-cli shutdown nosave", "sql:drop"),
        ("mongo prod --eval 'db.dropDatabase()'", "sql:drop"),
        ("mongosh --eval 'db.users.drop()'", "sql:drop"),
        ("mongosh prod --eval 'db.users.deleteMany({})'", "sql:drop"),
        ("mongosh --eval='db.users.remove({ })'", "sql:drop"),
        ("mongosh --eval 'db.runCommand({dropDatabase: 1})'", "sql:drop"),
    ],
)
def test_destructive_forms_are_denied(policy: Policy, command: str, rule: str) -> None:
    assert line(policy, command).startswith(f"deny {rule}:"), line(policy, command)


@pytest.mark.parametrize(
    "command",
    [
        "systemctl status nginx",
        "systemctl list-units --failed --no-pager",
        "systemctl is-active docker",
        "service nginx status",
        "service --status-all",
        "crontab -l",
        "kill -l",
        "npm ls --depth=0",
        "npm list --all --json",
        "npm --version",
        "redis-cli GET session:1",
        "redis-cli -h cache INFO memory",
        "redis-cli --scan --pattern 'user:*'",
        "redis-cli CLUSTER INFO",
    ],
)
def test_read_only_forms_run_unasked(policy: Policy, command: str) -> None:
    assert (
        line(policy, command) == "allow shell-known-safe: every command on the line is known-safe"
    )


@pytest.mark.parametrize(
    "command",
    [
        "systemctl restart nginx",
        "systemctl status nginx -H prod-host",
        "service nginx restart",
        "crontab jobs.txt",
        "crontab -e",
        "kill 1234",
        "kill -9 1234",
        "npm publish",
        "npm install lodash",
        "redis-cli",
        "redis-cli DEL session:1",
        "redis-cli CONFIG SET dir /tmp",
        "redis-cli --eval script.lua",
        "redis-cli -x SET k",
        "mongosh --eval 'db.users.find()'",
        "mongosh --eval 'db.users.deleteMany({age: {$lt: 18}})'",
        "mongo app.js",
    ],
)
def test_everything_else_asks(policy: Policy, command: str) -> None:
    assert line(policy, command).startswith("ask "), line(policy, command)
