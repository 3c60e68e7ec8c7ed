"""The policy file schema (ladder level 4): every key, its type, and what it compiles to.

Unknown keys are errors, with the valid keys listed. Rules and constraints may be limited to
some ``workflows`` and ``environments``; a scoped entry applies only when the policy is loaded
for a matching workflow/environment, so one file holds the policy of every environment.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from pytest_opsladder.choices import choice_message
from pytest_opsladder.guardrails.arguments import Constraint, ConstraintKind
from pytest_opsladder.guardrails.errors import PolicyError
from pytest_opsladder.guardrails.inputs import (
    EMBEDDED_INSTRUCTIONS,
    InputRules,
    compile_user_pattern,
)
from pytest_opsladder.guardrails.policy import CommandTools, Example, Policy, Rule
from pytest_opsladder.guardrails.safe_extensions import SafePattern
from pytest_opsladder.guardrails.shell_context import MAX_COMMAND_CHARS
from pytest_opsladder.guardrails.verdicts import Verdict
from pytest_opsladder.guardrails.workspace import Workspace

TOP = {"policy", "rules", "constraints", "shell", "sql", "inputs", "examples", "safe_commands"}
HEADER = {"name", "default", "workspace", "extra_paths", "workflow", "environment"}
HEADER |= {"approve_outbound"}
SCOPE = {"workflows", "environments"}
RULE = {"id", "tools", "decision", "reason"} | SCOPE
CONSTRAINT = {"id", "tools", "arg", "kind", "decision", "hosts", "max", "reason"} | SCOPE
COMMANDS = {"tools", "arg", "max_chars"}
INPUTS = {"max_chars", "sources", "instructions", "invisible", "extra_patterns"}
EXAMPLE = {"id", "tool", "args", "command", "expect"}
SAFE_COMMANDS = {"id", "commands", "reason"}


class _Ctx:
    """Where we are in the file, for error messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str, rule: str | None = None) -> PolicyError:
        return PolicyError(message, source=self.source, rule=rule)

    def keys(self, table: Any, allowed: set[str], where: str, rule: str | None = None) -> None:
        if not isinstance(table, dict):
            raise self.fail(f"{where} is {table!r}, not a table", rule)
        unknown = sorted(set(table) - allowed)
        if unknown:
            valid = ", ".join(sorted(allowed))
            raise self.fail(f"unknown key(s) {unknown} in {where}. Valid keys: {valid}.", rule)

    def strings(
        self, table: dict[str, Any], key: str, rule: str | None, required: bool
    ) -> tuple[str, ...]:
        value = table.get(key, [] if not required else None)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{key!r} must be a list of non-empty strings, got {value!r}", rule)
        if required and not value:
            raise self.fail(f"{key!r} must name at least one tool (glob patterns allowed)", rule)
        return tuple(value)

    def verdict(self, value: Any, setting: str, rule: str | None) -> Verdict:
        try:
            return Verdict.parse(value, setting=setting)
        except Exception as exc:
            raise self.fail(str(exc), rule) from None

    def integer(self, table: dict[str, Any], key: str, default: int, rule: str | None) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(f"{key!r} must be a positive integer, got {value!r}", rule)
        return value


def compile_policy(
    raw: dict[str, Any], source: str, base: Path, workflow: str | None, environment: str | None
) -> Policy:
    ctx = _Ctx(source)
    ctx.keys(raw, TOP, "the top level")
    head = raw.get("policy", {})
    ctx.keys(head, HEADER, "[policy]")
    context = (workflow or head.get("workflow"), environment or head.get("environment"))
    return Policy(
        name=str(head.get("name") or Path(source).stem),
        source=source,
        default=ctx.verdict(head.get("default", "ask"), "[policy] default", None),
        workspace=_workspace(ctx, head, base),
        rules=tuple(r for r in _entries(ctx, raw, "rules", _rule, context) if r),
        constraints=tuple(c for c in _entries(ctx, raw, "constraints", _constraint, context) if c),
        shell=_commands(ctx, raw.get("shell", {}), "shell", "command", _safe(ctx, raw)),
        sql=_commands(ctx, raw.get("sql", {}), "sql", "query"),
        examples=_examples(ctx, raw.get("examples", []), raw.get("shell", {})),
        inputs=_inputs(ctx, raw.get("inputs", {})),
        workflow=context[0],
        environment=context[1],
        approve_outbound=_flag(ctx, head, "approve_outbound"),
    )


def _flag(ctx: _Ctx, table: dict[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ctx.fail(f"[policy] {key} must be true or false, got {value!r}")
    return value


def _workspace(ctx: _Ctx, head: dict[str, Any], base: Path) -> Workspace | None:
    root = head.get("workspace")
    if root is None:
        return None
    if not isinstance(root, str):
        raise ctx.fail(f"[policy] workspace must be a path, got {root!r}")
    extra = ctx.strings(head, "extra_paths", None, required=False)
    for key, path in [("workspace", root), *(("extra_paths", p) for p in extra)]:
        if "\x00" in path:  # the OS refuses such a path; realpath would raise ValueError
            raise ctx.fail(f"[policy] {key} {path!r} contains a NUL character; remove it")
    return Workspace.at(base / root, [str(base / p) for p in extra])


def _entries(ctx: _Ctx, raw: dict[str, Any], key: str, build: Any, context: Any) -> list[Any]:
    entries = raw.get(key, [])
    if not isinstance(entries, list):
        raise ctx.fail(f"{key!r} must be a list of tables ([[{key}]]), got {entries!r}")
    seen: set[str] = set()
    out = []
    for index, entry in enumerate(entries):
        rule_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(rule_id, str) or not rule_id:
            raise ctx.fail(f"{key}[{index}] needs an 'id' (a non-empty string), got {rule_id!r}")
        if rule_id in seen:
            raise ctx.fail(f"duplicate id in {key}[{index}]; ids must be unique", rule_id)
        seen.add(rule_id)
        out.append(build(ctx, entry, rule_id, context))
    return out


def _in_context(ctx: _Ctx, entry: dict[str, Any], rule_id: str, context: Any) -> bool:
    workflows = ctx.strings(entry, "workflows", rule_id, required=False)
    environments = ctx.strings(entry, "environments", rule_id, required=False)
    return (not workflows or context[0] in workflows) and (
        not environments or context[1] in environments
    )


def _rule(ctx: _Ctx, entry: dict[str, Any], rule_id: str, context: Any) -> Rule | None:
    ctx.keys(entry, RULE, f"rule {rule_id!r}", rule_id)
    rule = Rule(
        rule_id,
        ctx.strings(entry, "tools", rule_id, required=True),
        ctx.verdict(entry.get("decision"), "decision", rule_id),
        str(entry.get("reason", "")),
    )
    return rule if _in_context(ctx, entry, rule_id, context) else None


def _constraint(ctx: _Ctx, entry: dict[str, Any], rule_id: str, context: Any) -> Constraint | None:
    ctx.keys(entry, CONSTRAINT, f"constraint {rule_id!r}", rule_id)
    kind_value = entry.get("kind")
    if str(kind_value) not in ConstraintKind._value2member_map_:
        raise ctx.fail(choice_message(ConstraintKind, kind_value, "constraint kind"), rule_id)
    kind = ConstraintKind(str(kind_value))
    arg = entry.get("arg")
    if not isinstance(arg, str) or not arg:
        raise ctx.fail(f"'arg' must name the argument to check, got {arg!r}", rule_id)
    limit = _limit(ctx, entry, kind, rule_id)
    hosts = ctx.strings(entry, "hosts", rule_id, required=kind is ConstraintKind.HOST_IN)
    constraint = Constraint(
        rule_id,
        ctx.strings(entry, "tools", rule_id, required=True),
        arg,
        kind,
        ctx.verdict(entry.get("decision", "deny"), "decision", rule_id),
        tuple(h.lower() for h in hosts),
        limit,
        str(entry.get("reason", "")),
    )
    return constraint if _in_context(ctx, entry, rule_id, context) else None


def _limit(ctx: _Ctx, entry: dict[str, Any], kind: ConstraintKind, rule_id: str) -> float | None:
    """A constraint's ``max`` as a finite float: NaN or infinity would disable the ceiling.

    ``amount > nan`` is never true, so ``max = nan`` would allow any amount; ``inf`` likewise.
    """
    limit = entry.get("max")
    if limit is None and kind is not ConstraintKind.AMOUNT_MAX:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        needs = "kind amount_max needs" if kind is ConstraintKind.AMOUNT_MAX else "'max' must be"
        raise ctx.fail(f"{needs} a numeric 'max', got {limit!r}", rule_id)
    try:
        value = float(limit)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ctx.fail(
            f"'max' must be a finite number, got {repr(limit)[:40]} (NaN or infinity would let any"
            " amount through); write the largest amount allowed, e.g. max = 100",
            rule_id,
        )
    return value


def _safe(ctx: _Ctx, raw: dict[str, Any]) -> tuple[SafePattern, ...]:
    """``[[safe_commands]]``: known-safe list extensions, none covering a destructive form."""
    out: list[SafePattern] = []
    for entry in _entries(ctx, raw, "safe_commands", lambda *a: a[1], None):
        rule = entry["id"]
        ctx.keys(entry, SAFE_COMMANDS, f"safe_commands {rule!r}", rule)
        for text in ctx.strings(entry, "commands", rule, required=True):
            out.append(_safe_pattern(ctx, rule, text))
    return tuple(out)


def _safe_pattern(ctx: _Ctx, rule: str, text: str) -> SafePattern:
    try:
        pattern = SafePattern.parse(rule, text)
    except ValueError as exc:
        raise ctx.fail(f"safe_commands pattern {text!r} is not valid: {exc}", rule) from None
    form = pattern.destructive_match()
    if form is not None:
        raise ctx.fail(
            f"safe_commands pattern {text!r} would allow the known destructive form {form!r}; "
            "narrow the pattern (list the exact arguments that are safe)",
            rule,
        )
    return pattern


def _commands(
    ctx: _Ctx, table: Any, section: str, default_arg: str, safe: tuple[SafePattern, ...] = ()
) -> CommandTools:
    ctx.keys(table, COMMANDS, f"[{section}]")
    arg = table.get("arg", default_arg)
    if not isinstance(arg, str) or not arg:
        raise ctx.fail(f"[{section}] arg must be an argument name, got {arg!r}")
    return CommandTools(
        ctx.strings(table, "tools", None, required=False),
        arg,
        ctx.integer(table, "max_chars", MAX_COMMAND_CHARS, None),
        safe,
    )


def _inputs(ctx: _Ctx, table: Any) -> InputRules:
    ctx.keys(table, INPUTS, "[inputs]")
    return InputRules(
        max_chars=ctx.integer(table, "max_chars", 100_000, None),
        sources=ctx.strings(table, "sources", None, required=False),
        instructions=ctx.verdict(table.get("instructions", "ask"), "[inputs] instructions", None),
        patterns=EMBEDDED_INSTRUCTIONS,
        invisible=ctx.verdict(table.get("invisible", "ask"), "[inputs] invisible", None),
        extra_patterns=_patterns(ctx, table, "extra_patterns"),
    )


def _patterns(ctx: _Ctx, table: dict[str, Any], key: str) -> tuple[str, ...]:
    """Regular expressions of ``[inputs]``, compiled here so a bad one fails at load time.

    They run with a time bound (:mod:`pytest_opsladder.guardrails.inputs`), so a slow one
    costs at most that bound per input, never a hang.
    """
    patterns = ctx.strings(table, key, None, required=False)
    if not patterns:
        return patterns
    import regex  # as compile_user_pattern: only a policy with its own patterns imports it

    for index, pattern in enumerate(patterns):
        try:
            re.compile(pattern, re.IGNORECASE)  # the documented syntax: Python's re
            compile_user_pattern(pattern)  # and how it runs: the regex package, time-bound
        except (re.error, regex.error, RecursionError, OverflowError, ValueError) as exc:
            raise ctx.fail(
                f"[inputs] {key}[{index}] {pattern!r} is not a valid regular expression ({exc});"
                " fix it, or escape it to match the text literally (a backslash before each"
                " of ( ) [ ] { } . * + ? ^ $ | \\)"
            ) from None
    return patterns


def _examples(ctx: _Ctx, entries: Any, shell: Any) -> tuple[Example, ...]:
    if not isinstance(entries, list):
        raise ctx.fail(f"'examples' must be a list of tables ([[examples]]), got {entries!r}")
    out = []
    for index, entry in enumerate(entries):
        ex_id = str(entry.get("id", f"examples[{index}]")) if isinstance(entry, dict) else ""
        ctx.keys(entry, EXAMPLE, f"example {ex_id!r}", ex_id)
        tool = entry.get("tool")
        if not isinstance(tool, str) or not tool:
            raise ctx.fail("an example needs 'tool' (the tool name)", ex_id)
        args = entry.get("args", {})
        if "command" in entry:
            arg_name = shell.get("arg", "command") if isinstance(shell, dict) else "command"
            args = {arg_name: entry["command"]}
        expect = ctx.verdict(entry.get("expect"), "expect", ex_id)
        out.append(Example(ex_id, tool, args, expect))
    return tuple(out)
