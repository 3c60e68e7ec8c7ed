"""``opsladder policy``: check a call against a policy, run its examples, answer approvals.

``check`` prints the verdict first (``allow``, ``ask`` or ``deny``), then the deciding rule and
why; its exit status is 0 for allow, 3 for ask and 1 for deny, so scripts can branch on it.
Without ``--policy`` it decides under the built-in default policy, the current directory
being the workspace.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pytest_opsladder._visible import field
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.guardrails.approval_store import (
    Answer,
    ApprovalStore,
    ApprovalStoreError,
    print_review,
)
from pytest_opsladder.guardrails.policy import Policy
from pytest_opsladder.guardrails.policy_load import default_policy, example_results, load_policy
from pytest_opsladder.guardrails.verdicts import Verdict

EXIT = {Verdict.ALLOW: 0, Verdict.DENY: 1, Verdict.ASK: 3}


def register(sub: Any) -> None:
    parser = sub.add_parser("policy", help="check and test guardrail policies (level 4)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="decide one tool call or shell command")
    check.add_argument(
        "--policy",
        type=Path,
        help="policy file (toml/yaml/json); default: the built-in policy, workspace = cwd",
    )
    what = check.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--command",
        dest="shell_command",
        help="a shell command, checked as the policy's shell tool",
    )
    what.add_argument("--tool", help="a tool name (give its arguments with --args)")
    check.add_argument("--args", default="{}", help="the tool's arguments as JSON text")
    _context_options(check)
    check.set_defaults(func=_check)
    test = actions.add_parser("test", help="run the policy's own examples")
    test.add_argument("file", type=Path)
    _context_options(test)
    test.set_defaults(func=_test)
    _approval_parsers(actions)


def _context_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workflow", help="load the policy for this workflow")
    parser.add_argument("--environment", help="load the policy for this environment")


def _approval_parsers(actions: Any) -> None:
    listing = actions.add_parser("approvals", help="list pending approval requests")
    listing.add_argument("--store", required=True, type=Path, help="the approvals SQLite file")
    listing.set_defaults(func=_approvals)
    for name in ("approve", "deny"):
        answer = actions.add_parser(name, help=f"{name} a pending request by call id")
        answer.add_argument("call_id")
        answer.add_argument("--store", required=True, type=Path)
        answer.add_argument("--by", default="cli", help="who answers (recorded)")
        answer.set_defaults(func=_answer, answer=name)


def _load(args: argparse.Namespace, path: Path, check_examples: bool) -> Policy:
    return load_policy(
        path,
        workflow=args.workflow,
        environment=args.environment,
        check_examples=check_examples,
    )


def _check(args: argparse.Namespace) -> int:
    if args.policy is None:
        policy = default_policy(Path.cwd())
    else:
        policy = _load(args, args.policy, check_examples=True)
    if args.shell_command is not None:
        tool = _shell_tool(policy)
        call_args: Any = {policy.shell.arg: args.shell_command}
    else:
        tool, call_args = args.tool, args.args  # JSON text: malformed input is decided, too
    decisions = policy.decisions(tool, call_args)
    final = policy.decide(tool, call_args)
    print(field(final.line()))
    for other in decisions:
        if other != final and other.verdict is not Verdict.ALLOW:
            print(f"  also: {field(other.line())}")
    return EXIT[final.verdict]


def _shell_tool(policy: Policy) -> str:
    literal = [t for t in policy.shell.tools if not set(t) & set("*?[")]
    if not literal:
        raise ConfigError(
            f"{policy.source}: --command needs a [shell] section naming the shell tool "
            '(tools = ["run_shell"]); or use --tool NAME --args JSON.'
        )
    return literal[0]


def _test(args: argparse.Namespace) -> int:
    policy = _load(args, args.file, check_examples=False)
    results = example_results(policy)
    for example, ok, decision in results:
        mark = "PASS" if ok else "FAIL"
        got = f"expects {example.expect.value}, got {decision.line()}"
        print(field(f"{mark} {example.id}: {got}"))
    failed = sum(1 for _, ok, _ in results if not ok)
    print(f"{len(results) - failed} passed, {failed} failed ({policy.source})")
    return 1 if failed else 0


def _approvals(args: argparse.Namespace) -> int:
    # issue 15: rows whose stored arguments fail their digest are refused, not shown
    return print_review(_existing_store(args.store), sys.stdout, sys.stderr)


def _existing_store(path: Path) -> ApprovalStore:
    """The store the gated calls write to. An operator's command never creates one: at a
    mistyped path it would print "0 pending" while the real requests wait."""
    if not os.path.lexists(path):  # a broken link or a loop is the store's own error
        raise ApprovalStoreError(
            f"no approvals store at {str(path)!r}: the file does not exist (the first gated call "
            "creates it). Pass --store the file your agent's approval gate writes to.",
            path=path,
        )
    return ApprovalStore(path)


def _answer(args: argparse.Namespace) -> int:
    state = _existing_store(args.store).answer(args.call_id, Answer.parse(args.answer), by=args.by)
    print(f"{field(args.call_id)} {state.value}")
    return 0
