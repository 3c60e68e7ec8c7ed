"""Policies as code (ladder level 4): who may call which tool, with which arguments.

A :class:`Policy` is immutable once loaded, from a file or from code, never from anything the
model says: a prompt or a tool result cannot widen its scopes. Deciding a call collects every
matching rule, constraint and shell/SQL finding and keeps the strictest (deny > ask > allow),
whatever the rule's specificity; a call that no rule matches gets the policy's ``default``.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from typing import Any

from pytest_opsladder.guardrails.arguments import Constraint, check_constraint, normalize_args
from pytest_opsladder.guardrails.inputs import InputRules
from pytest_opsladder.guardrails.shell_context import MAX_COMMAND_CHARS, ShellContext
from pytest_opsladder.guardrails.shell_detect import shell_context, shell_decisions
from pytest_opsladder.guardrails.verdicts import Decision, Verdict, strictest
from pytest_opsladder.guardrails.workspace import Workspace


@lru_cache(maxsize=4096)
def matches(patterns: tuple[str, ...], tool: str) -> bool:
    """Does ``tool`` match a glob of ``patterns``? Cached: a run calls few tools, many times."""
    return any(fnmatch.fnmatchcase(tool, pattern) for pattern in patterns)


@dataclass(frozen=True, slots=True)
class Rule:
    """A tool scope: calls of ``tools`` (glob patterns) get ``decision``."""

    id: str
    tools: tuple[str, ...]
    decision: Verdict
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CommandTools:
    """Tools whose ``arg`` is a shell command (kind ``shell``) or SQL text (kind ``sql``)."""

    tools: tuple[str, ...] = ()
    arg: str = "command"
    max_chars: int = MAX_COMMAND_CHARS
    safe: tuple[Any, ...] = ()  # the policy's safe_commands extensions (shell only)


@dataclass(frozen=True, slots=True)
class Example:
    """A call the policy must decide as ``expect``; checked when the policy loads."""

    id: str
    tool: str
    args: Any
    expect: Verdict


@dataclass(frozen=True)
class Policy:
    """A loaded, validated policy for one workflow and environment."""

    name: str
    source: str
    default: Verdict = Verdict.ASK
    workspace: Workspace | None = None
    rules: tuple[Rule, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    shell: CommandTools = field(default_factory=CommandTools)
    sql: CommandTools = field(default_factory=lambda: CommandTools(arg="query"))
    examples: tuple[Example, ...] = ()
    inputs: InputRules = field(default_factory=InputRules)
    workflow: str | None = None
    environment: str | None = None
    approve_outbound: bool = False

    def decide(self, tool: str, args: Any) -> Decision:
        """The strictest decision for calling ``tool`` with ``args`` (a dict or JSON text)."""
        found = strictest(self.decisions(tool, args))
        assert found is not None  # decisions() always yields at least the scope decision
        return found

    def decisions(self, tool: str, args: Any) -> list[Decision]:
        """Every decision that applies to the call, in policy order (for explanations)."""
        parsed, malformed = normalize_args(args)
        out = self._scope(tool)
        if malformed is not None:
            out.append(malformed)
        for constraint in self.constraints:
            if matches(constraint.tools, tool):
                found = check_constraint(constraint, parsed, self.workspace)
                out += [found] if found else []
        out += self._commands(tool, parsed)
        return out

    @cached_property
    def _shell_context(self) -> ShellContext:
        # Built once per policy: a decision's context differs only per command (ctx.at).
        return shell_context(self.workspace, self.shell.max_chars, self.shell.safe)

    def _scope(self, tool: str) -> list[Decision]:
        scoped = [
            Decision(r.decision, r.id, r.reason or f"rule {r.id!r} matches tool {tool!r}")
            for r in self.rules
            if matches(r.tools, tool)
        ]
        why = f"no rule matches tool {tool!r}; the policy's default applies"
        return scoped or [Decision(self.default, "default", why)]

    def _commands(self, tool: str, args: dict[str, Any]) -> list[Decision]:
        out: list[Decision] = []
        if matches(self.shell.tools, tool):
            text = args.get(self.shell.arg)
            ctx = self._shell_context
            out += _text_or_ask(text, self.shell.arg, "shell", lambda t: shell_decisions(t, ctx))
        if matches(self.sql.tools, tool):
            limit = self.sql.max_chars
            out += _text_or_ask(args.get(self.sql.arg), self.sql.arg, "sql", partial(_sql, limit))
        return out


def _sql(limit: int, text: str) -> list[Decision]:
    from pytest_opsladder.guardrails.sql_detect import sql_decisions

    if len(text) > limit:
        why = f"the SQL is {len(text)} characters long (limit {limit}); a human must read it"
        return [Decision(Verdict.ASK, "sql:too-long", why)]
    odd = _UNREADABLE.search(text)
    if odd:  # NUL and other controls, or bytes that were not UTF-8 (surrogate escapes)
        why = f"character {odd.group()!r} at offset {odd.start()} cannot be part of readable SQL"
        return [Decision(Verdict.ASK, "sql:unreadable", why)]
    return sql_decisions(text)


_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _text_or_ask(text: Any, arg: str, kind: str, check: Any) -> list[Decision]:
    if not isinstance(text, str):
        why = f"argument {arg!r} is {text!r}, not {kind} text, so it cannot be checked"
        return [Decision(Verdict.ASK, f"{kind}:unreadable", why, True)]
    try:
        found: list[Decision] = check(text)
    except Exception as exc:  # a checker's bug must fail closed, never crash the agent's run
        why = f"the {kind} check failed ({type(exc).__name__}: {exc}); a human must look at it"
        return [Decision(Verdict.ASK, f"{kind}:check-failed", why, True)]
    return found
