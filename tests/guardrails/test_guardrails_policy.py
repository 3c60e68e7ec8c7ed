"""Policies as code: loading, validation that names the file and rule, strictest-wins, scopes."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.guardrails import (
    Policy,
    PolicyError,
    PolicyExampleError,
    Verdict,
    load_policy,
    policy_from_dict,
)


def verdict(policy: Policy, tool: str, args: object) -> tuple[str, str]:
    decision = policy.decide(tool, args)
    return decision.verdict.value, decision.rule


def test_the_strictest_matching_rule_wins_whatever_its_specificity(policy: Policy) -> None:
    # "send_*" (ask) is broader than "send_newsletter" (allow), and still wins.
    assert verdict(policy, "send_newsletter", {}) == ("ask", "email-needs-approval")
    assert verdict(policy, "delete_customer", {"id": 1}) == ("deny", "no-deletes")
    assert verdict(policy, "search_orders", {"q": "x"}) == ("allow", "read-tools")


def test_a_tool_no_rule_matches_gets_the_default(policy: Policy) -> None:
    assert verdict(policy, "launch_rocket", {}) == ("ask", "default")


def test_rules_apply_per_environment(policy_file: Path) -> None:
    dev = load_policy(policy_file, environment="dev")
    prod = load_policy(policy_file, environment="prod")
    assert verdict(dev, "refund", {"amount": 10}) == ("allow", "refunds-allowed")
    assert verdict(prod, "refund", {"amount": 10}) == ("ask", "prod-refunds-ask")


def test_rules_apply_per_workflow() -> None:
    data = {
        "rules": [
            {"id": "all", "tools": ["publish"], "decision": "allow"},
            {"id": "billing", "tools": ["publish"], "decision": "deny", "workflows": ["billing"]},
        ]
    }
    assert verdict(policy_from_dict(data), "publish", {}) == ("allow", "all")
    billing = policy_from_dict(data, workflow="billing")
    assert verdict(billing, "publish", {}) == ("deny", "billing")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/a.txt", ("allow", "read-tools")),
        ("/etc/passwd", ("deny", "files-in-workspace")),
        ("../policy.toml", ("deny", "files-in-workspace")),
        ("src/../../policy.toml", ("deny", "files-in-workspace")),
        ("src/\x00../../x", ("deny", "files-in-workspace")),
        (7, ("deny", "files-in-workspace")),
    ],
)
def test_path_constraint_resolves_dotdot(policy: Policy, path: object, expected: object) -> None:
    assert verdict(policy, "read_file", {"path": path}) == expected


def test_path_constraint_follows_symlinks(policy: Policy, tmp_path: Path) -> None:
    assert policy.workspace is not None
    os.symlink(tmp_path, os.path.join(policy.workspace.root, "escape"))
    assert verdict(policy, "read_file", {"path": "escape/policy.toml"}) == (
        "deny",
        "files-in-workspace",
    )


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://docs.example.com/a", True),
        ("https://api.internal.example.com/v1", True),
        ("docs.example.com", True),
        ("https://evil.example.net/a", False),
        ("https://docs.example.com@evil.example.net/", False),
        ("https://docs.example.com.evil.net/", False),
        ("https://d\u043ecs.example.com/", False),  # Cyrillic o
        (None, False),
    ],
)
def test_host_constraint(policy: Policy, url: object, allowed: bool) -> None:
    decision = policy.decide("get_url", {"url": url})
    assert (decision.verdict is Verdict.ALLOW) is allowed, decision.line()


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (100, "allow"),
        (99.5, "allow"),
        (100.01, "deny"),
        ("50", "deny"),
        (True, "deny"),
        (None, "ask"),
    ],
)
def test_amount_constraint(policy: Policy, amount: object, expected: str) -> None:
    assert policy.decide("refund", {"amount": amount}).verdict.value == expected


@pytest.mark.parametrize(
    "raw",
    [None, "null", [], '["amount", 5]', "{not json", "", '{"amount": NaN}', {"amount": math.nan}],
)
def test_malformed_arguments_require_manual_approval(policy: Policy, raw: object) -> None:
    decision = policy.decide("search_orders", raw)
    assert decision.verdict is Verdict.ASK
    assert decision.rule == "malformed-arguments"
    assert decision.manual


def test_malformed_arguments_never_soften_a_deny(policy: Policy) -> None:
    assert verdict(policy, "delete_customer", None) == ("deny", "no-deletes")


def test_json_text_arguments_are_decided_like_objects(policy: Policy) -> None:
    assert verdict(policy, "refund", '{"amount": 500}') == ("deny", "refund-ceiling")


def test_yaml_policy_loads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "policy: {default: deny}\n"
        "rules:\n  - {id: reads, tools: [get_*], decision: allow}\n"
        "examples:\n  - {id: e1, tool: get_x, expect: allow}\n"
        "  - {id: e2, tool: put_x, expect: deny}\n"
    )
    policy = load_policy(path)
    assert verdict(policy, "get_orders", {}) == ("allow", "reads")
    assert verdict(policy, "put_orders", {}) == ("deny", "default")


def test_unknown_key_in_a_rule_names_the_file_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[rules]]\nid = "reads"\ntools = ["get_*"]\ndecision = "allow"\ntool = "x"\n')
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert str(path) in message
    assert "'reads'" in message
    assert "['tool']" in message
    assert "Valid keys" in message
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[polcy]\nname='x'\n", "unknown key(s) ['polcy'] in the top level"),
        ("[policy]\ndefualt='allow'\n", "unknown key(s) ['defualt'] in [policy]"),
        ('[[rules]]\nid="r"\ntools=["x"]\ndecision="maybe"\n', "'maybe' is not a valid decision"),
        ('[[rules]]\ntools=["x"]\ndecision="allow"\n', "rules[0] needs an 'id'"),
        ('[[rules]]\nid="r"\ntools=[]\ndecision="allow"\n', "must name at least one tool"),
        (
            '[[rules]]\nid="r"\ntools=["x"]\ndecision="allow"\n'
            '[[rules]]\nid="r"\ntools=["y"]\ndecision="deny"\n',
            "duplicate id",
        ),
        (
            '[[constraints]]\nid="c"\ntools=["x"]\narg="a"\nkind="size"\n',
            "'size' is not a valid constraint kind",
        ),
        ('[[constraints]]\nid="c"\ntools=["x"]\narg="a"\nkind="amount_max"\n', "numeric 'max'"),
        ("[shell]\ntools=['sh']\nargs='cmd'\n", "unknown key(s) ['args'] in [shell]"),
        ("[inputs]\nmax_chars=-1\n", "'max_chars' must be a positive integer"),
        *[
            (f'[[constraints]]\nid="c"\ntools=["x"]\narg="a"\nkind="amount_max"\nmax={v}\n', m)
            for v, m in [
                ("nan", "rule 'c': 'max' must be a finite number, got nan"),
                ("inf", "rule 'c': 'max' must be a finite number, got inf"),
                ("-inf", "rule 'c': 'max' must be a finite number, got -inf"),
                ("1" + "0" * 400, "rule 'c': 'max' must be a finite number"),
            ]
        ],
        (
            "[inputs]\nextra_patterns=['wire money', '(unclosed']\n",
            "[inputs] extra_patterns[1] '(unclosed' is not a valid regular expression (missing )",
        ),
        ("[inputs]\nextra_patterns=['a(?i)b']\n", "extra_patterns[0] 'a(?i)b' is not a valid"),
        ('[policy]\nworkspace="a\\u0000b"\n', "[policy] workspace 'a\\x00b' contains a NUL"),
        (
            '[policy]\nworkspace="."\nextra_paths=["/tmp\\u0000"]\n',
            "[policy] extra_paths '/tmp\\x00' contains a NUL",
        ),
        ("not toml at all [", "not valid toml"),
    ],
)
def test_invalid_policies_are_refused_with_a_clear_error(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=None) as info:
        load_policy(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_examples_that_contradict_the_policy_stop_it_loading(
    tmp_path: Path, policy_toml: str
) -> None:
    path = tmp_path / "p.toml"
    wrong = 'command = "rm -rf /"\nexpect = "allow"'
    path.write_text(policy_toml.replace('command = "rm -rf /"\nexpect = "deny"', wrong))
    (tmp_path / "ws").mkdir()
    with pytest.raises(PolicyExampleError) as info:
        load_policy(path)
    assert "'rm-rf-denied'" in str(info.value)
    assert "expects allow" in str(info.value)
    assert "shell:rm-recursive-force" in str(info.value)


def test_a_missing_policy_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "nope.toml")


def test_a_loaded_policy_cannot_be_widened(policy: Policy) -> None:
    from dataclasses import FrozenInstanceError

    with pytest.raises(FrozenInstanceError):
        policy.default = Verdict.ALLOW  # type: ignore[misc]
    assert isinstance(policy.rules, tuple)


def test_policy_from_dict_copies_its_input() -> None:
    data: dict[str, object] = {"rules": [{"id": "r", "tools": ["x"], "decision": "deny"}]}
    policy = policy_from_dict(data)
    data["rules"][0]["decision"] = "allow"  # type: ignore[index]
    assert verdict(policy, "x", {}) == ("deny", "r")


@pytest.mark.parametrize(
    "value",
    ["x", "a/b", "./a//b/", "a/out/passwd", "a/in/z", "..", "/etc", "a/../../x", "a/in/../out"],
)
def test_workspace_paths_resolve_exactly_as_the_os_does(tmp_path: Path, value: str) -> None:
    from pytest_opsladder.guardrails.workspace import Workspace

    root = tmp_path / "ws"
    (root / "a" / "b").mkdir(parents=True)
    os.symlink("/etc", root / "a" / "out")
    os.symlink(root / "a" / "b", root / "a" / "in")
    workspace = Workspace.at(root)
    assert workspace.resolve(value) == os.path.realpath(os.path.join(root, value))


@pytest.mark.parametrize("limit", [float("nan"), float("inf"), -float("inf")])
def test_a_ceiling_that_is_not_a_finite_number_never_loads(limit: float) -> None:
    refund = {"id": "c", "tools": ["refund"], "arg": "amount", "kind": "amount_max"}
    raw = {
        "rules": [{"id": "r", "tools": ["refund"], "decision": "allow"}],
        "constraints": [{**refund, "max": limit}],
    }
    with pytest.raises(PolicyError, match="rule 'c': 'max' must be a finite number"):
        policy_from_dict(raw)
