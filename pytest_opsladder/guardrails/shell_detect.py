"""The three-way decision for shell commands (ladder level 4): allow, ask or deny.

Each simple command from :mod:`shell_parse` is dispatched on its program to the checker that
knows it: the known-safe list (:mod:`shell_programs`, :mod:`shell_text_tools`, git's read
subcommands, ``pytest``), programs that change things (:mod:`shell_files`), database clients
(:mod:`shell_sql_clients`), interpreters (:mod:`shell_runtimes`) and wrappers
(:mod:`shell_wrappers`). A command with no finding is allowed; a program nobody knows asks
(``ask: 'fakeroot' is not a known-safe program``), and so does a script path (``./x.sh``) or
a program run from outside the system's directories (``./ls`` is not ``ls``). The caller keeps
the strictest decision, so one denied part denies the whole command line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

from pytest_opsladder.guardrails import shell_text_tools as text_tools
from pytest_opsladder.guardrails.shell_context import (
    CLEARABLE,
    DYNAMIC,
    MAX_COMMAND_CHARS,
    ShellContext,
    ask,
    deny,
    glued_values,
    not_known_safe,
    path_decisions,
)
from pytest_opsladder.guardrails.shell_files import file_program
from pytest_opsladder.guardrails.shell_firewall import FIREWALL
from pytest_opsladder.guardrails.shell_git import git
from pytest_opsladder.guardrails.shell_infra import INFRA
from pytest_opsladder.guardrails.shell_parse import parse_shell
from pytest_opsladder.guardrails.shell_programs import SAFE_PROGRAMS, safe_program_decisions
from pytest_opsladder.guardrails.shell_runtimes import runtime
from pytest_opsladder.guardrails.shell_services import SERVICES
from pytest_opsladder.guardrails.shell_sql_clients import SQL_CLIENTS
from pytest_opsladder.guardrails.shell_wrappers import WRAPPERS
from pytest_opsladder.guardrails.verdicts import Decision, Verdict
from pytest_opsladder.guardrails.workspace import Workspace

__all__ = ["MAX_COMMAND_CHARS", "ShellContext", "command_decisions", "shell_context"]
Check = Callable[[list[str], ShellContext], list[Decision]]
_SYSTEM_BIN = {"/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin", "/usr/local/sbin"}
_CHECKS: dict[str, Check] = {
    **{name: partial(safe_program_decisions, name) for name in SAFE_PROGRAMS},
    "find": text_tools.find,
    "sed": text_tools.sed,
    "awk": text_tools.awk,
    "gawk": text_tools.awk,
    "mawk": text_tools.awk,
    "nawk": text_tools.awk,
    "date": text_tools.date,
    "cd": text_tools.cd,
    "pushd": text_tools.cd,
    "git": git,
    **INFRA,
    **FIREWALL,
    **SERVICES,
    **SQL_CLIENTS,
    **WRAPPERS,
}


def shell_context(
    workspace: Workspace | None = None,
    max_chars: int = MAX_COMMAND_CHARS,
    safe_patterns: tuple[object, ...] = (),
) -> ShellContext:
    """A context whose callbacks look inside wrapped commands with this module's checks."""
    return ShellContext(
        workspace,
        max_chars,
        safe_patterns=safe_patterns,
        argv_check=command_decisions,
        script_check=shell_decisions,
    )


def shell_decisions(text: str, ctx: ShellContext) -> list[Decision]:
    """Every finding about a shell command line: dynamic parts, programs, options, paths."""
    parsed = parse_shell(text, max_chars=ctx.max_chars)
    out = [deny("shell:remote-code", reason) for reason in parsed.remote_code[:1]]
    out += [deny("shell:fork-bomb", reason) for reason in parsed.fork_bombs[:1]]
    out += [ask("shell:dynamic", reason) for reason in parsed.dynamic[:1]]
    if not parsed.commands and not out:
        out.append(ask("shell:empty", "no command found in the text"))
    out += path_decisions("a redirection", parsed.redirects, ctx)
    out += path_decisions("a redirection", parsed.reads, ctx, writes=False)
    cwds = ctx.cwds
    for command in parsed.commands:
        argv = list(command.argv)
        out += command_decisions(argv, ctx.at(cwds, command.stdin))
        cwds = _after_cd(argv, ctx, cwds)
    return out


def _after_cd(argv: list[str], ctx: ShellContext, cwds: tuple[str, ...]) -> tuple[str, ...]:
    """Paths after ``cd DIR`` must stay inside from DIR too (and from the root, for subshells)."""
    if ctx.workspace is None or not argv or argv[0] not in ("cd", "pushd"):
        return cwds
    target = text_tools.cd_target(argv[1:])
    if target is None or target == DYNAMIC:
        return cwds
    return (*cwds, ctx.workspace.resolve(target))


def command_decisions(argv: list[str], ctx: ShellContext) -> list[Decision]:
    """Findings for one simple command (words after quote removal)."""
    if not argv or argv[0] == DYNAMIC:
        return [ask("shell:dynamic", "the command name is decided at run time")]
    name = os.path.basename(argv[0])
    args = argv[1:]
    check = checker(name)
    out = check(args, ctx) if check is not None else _unknown(name, args, ctx)
    if "/" in argv[0] and os.path.dirname(argv[0]) not in _SYSTEM_BIN:
        why = f"{argv[0]!r} runs that file, not a known-safe program"
        out.append(ask("shell:not-known-safe", why))
    return _extended(argv, out, ctx)


def checker(name: str) -> Check | None:
    """The checker for a program name, or None for a program nobody here knows."""
    found = _CHECKS.get(name) or file_program(name) or runtime(name)
    return found


def _unknown(name: str, args: list[str], ctx: ShellContext) -> list[Decision]:
    """Ask; deny still wins when a known destructive command hides in the arguments."""
    out = [not_known_safe(name), *path_decisions(name, glued_values(args), ctx)]
    first = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
    if first is not None and checker(os.path.basename(args[first])) is not None:
        out += _denies(ctx.check_argv(args[first:]))
    for word in [a for a in args if " " in a][:3]:
        out += _denies(ctx.check_script(word))
    return out


def _denies(found: list[Decision]) -> list[Decision]:
    return [d for d in found if d.verdict is Verdict.DENY]


def _extended(argv: list[str], out: list[Decision], ctx: ShellContext) -> list[Decision]:
    """A policy's ``safe_commands`` clear "not known-safe" asks, never denies or escapes."""
    if not ctx.safe_patterns or not any(d.rule in CLEARABLE for d in out):
        return out
    if not any(pattern.matches(argv) for pattern in ctx.safe_patterns):
        return out
    return [d for d in out if d.rule not in CLEARABLE]
