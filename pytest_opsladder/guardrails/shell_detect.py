"""Destructive-command detection for shell tools (ladder level 4).

Each simple command from :mod:`shell_parse` is checked on its words, never on raw text:
wrappers (sudo, env, timeout, nice, nohup, xargs, ``sh -c`` ...) are unwrapped and what they
run is checked too; destructive forms are recognised however their flags are combined, ordered
or spelled (``-rf``, ``-fr``, ``-r -f``, ``--recursive --force``). The result is a list of
decisions; the caller keeps the strictest.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from pytest_opsladder.guardrails import shell_commands as sc
from pytest_opsladder.guardrails.shell_parse import MAX_COMMAND_CHARS, parse_shell
from pytest_opsladder.guardrails.verdicts import Decision, Verdict
from pytest_opsladder.guardrails.workspace import Workspace

MAX_DEPTH = 3
DYNAMIC = "\x00dynamic"
_NO_PATHS = {"echo", "printf", "true", "false", ":", "test", "["}


@dataclass(frozen=True, slots=True)
class ShellContext:
    """What a shell check needs from the policy."""

    workspace: Workspace | None = None
    max_chars: int = MAX_COMMAND_CHARS
    depth: int = 0

    def deeper(self) -> ShellContext:
        return ShellContext(self.workspace, self.max_chars, self.depth + 1)


def shell_decisions(text: str, ctx: ShellContext) -> list[Decision]:
    """Every finding about a shell command line: dynamic parts, destructive parts, paths."""
    if ctx.depth > MAX_DEPTH:
        return [Decision(Verdict.ASK, "shell:nesting", f"shells nested over {MAX_DEPTH} deep")]
    parsed = parse_shell(text, max_chars=ctx.max_chars)
    out = [Decision(Verdict.ASK, "shell:dynamic", r) for r in parsed.dynamic[:1]]
    if not parsed.commands and not out:
        out.append(Decision(Verdict.ASK, "shell:empty", "no command found in the text"))
    for command in parsed.commands:
        out += command_decisions(list(command.argv), ctx)
    return out


def command_decisions(argv: list[str], ctx: ShellContext) -> list[Decision]:
    """Findings for one simple command (words after quote removal)."""
    if not argv or argv[0] == DYNAMIC:
        return [Decision(Verdict.ASK, "shell:dynamic", "the command name is decided at run time")]
    name = os.path.basename(argv[0])
    handler = _HANDLERS.get(name) or _prefixed(name)
    out = handler(argv[1:], ctx) if handler is not None else []
    return out + _paths(name, argv[1:], ctx)


def _prefixed(name: str) -> Handler | None:
    if name.startswith(("mkfs", "python", "pip")):
        return _HANDLERS.get(name.rstrip("0123456789.").split(".")[0])
    return None


def _paths(name: str, args: list[str], ctx: ShellContext) -> list[Decision]:
    if ctx.workspace is None or name in _NO_PATHS:
        return []
    out = []
    for arg in args:
        value = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else arg
        if value == DYNAMIC or value.startswith("-") or "://" in value or not value:
            continue
        if not ctx.workspace.contains(value):
            reason = f"{name}: path {value!r} resolves outside the workspace {ctx.workspace.root}"
            out.append(Decision(Verdict.DENY, "shell:path-outside-workspace", reason))
    return out


Handler = Callable[[list[str], ShellContext], list[Decision]]


def _wrapper(verdict: Verdict | None, why: str, skip: Callable[[list[str]], int]) -> Handler:
    """A wrapper runs the rest of its words as a command: check that command too."""

    def handle(args: list[str], ctx: ShellContext) -> list[Decision]:
        out = [Decision(verdict, "shell:wrapper", why)] if verdict else []
        inner = args[skip(args) :]
        return out + (command_decisions(inner, ctx) if inner else [])

    return handle


def _shell(args: list[str], ctx: ShellContext) -> list[Decision]:
    script = sc.shell_c_script(args)
    if script is None:
        why = "a shell without -c runs a script file or reads commands from its input"
        return [Decision(Verdict.ASK, "shell:interpreter", why)]
    return shell_decisions(script, ctx.deeper())


def _eval(args: list[str], ctx: ShellContext) -> list[Decision]:
    why = "eval builds the command at run time"
    return [
        Decision(Verdict.ASK, "shell:eval", why),
        *shell_decisions(" ".join(args), ctx.deeper()),
    ]


def _xargs(args: list[str], ctx: ShellContext) -> list[Decision]:
    inner = args[sc.skip_options(args, sc.XARGS_VALUE_OPTS) :] or ["echo"]
    why = "xargs appends arguments read from its input, unknown before it runs"
    return [Decision(Verdict.ASK, "shell:xargs", why), *command_decisions(inner, ctx)]


def _env(args: list[str], ctx: ShellContext) -> list[Decision]:
    start, assigns = sc.skip_env(args)
    out = []
    if assigns:
        why = f"env sets {', '.join(assigns)}, which can change what the command does"
        out.append(Decision(Verdict.ASK, "shell:env", why))
    return out + (command_decisions(args[start:], ctx) if args[start:] else [])


def _find(args: list[str], ctx: ShellContext) -> list[Decision]:
    out = []
    if "-delete" in args:
        out.append(Decision(Verdict.DENY, "shell:find-delete", "find -delete removes every match"))
    for inner in sc.find_exec_commands(args):
        out += command_decisions(inner, ctx)
    return out


def _sql_client(flag_opts: tuple[str, ...], positional_sql: bool) -> Handler:
    def handle(args: list[str], ctx: ShellContext) -> list[Decision]:
        from pytest_opsladder.guardrails.sql_detect import sql_decisions

        sql = sc.sql_argument(args, flag_opts, positional_sql)
        if sql is None:
            why = "SQL from a file or standard input cannot be checked before it runs"
            return [Decision(Verdict.ASK, "sql:unseen", why)]
        return sql_decisions(sql)

    return handle


def _command(args: list[str], ctx: ShellContext) -> list[Decision]:
    if args and args[0] in ("-v", "-V"):
        return []  # `command -v NAME` only looks a name up
    inner = args[sc.skip_options(args, set()) :]
    return command_decisions(inner, ctx) if inner else []


def _recursive_mode(args: list[str], ctx: ShellContext) -> list[Decision]:
    short, long, _ = sc.split_flags(args)
    if "R" in short or "--recursive" in long:
        why = "changes owners or permissions of a whole tree"
        return [Decision(Verdict.ASK, "shell:permissions", why)]
    return []


def _fixed(verdict: Verdict, rule: str, why: str) -> Handler:
    return lambda args, ctx: [Decision(verdict, rule, why)]


def _interpreter(args: list[str], ctx: ShellContext) -> list[Decision]:
    if any(a in ("-c", "-e", "-E", "-m", "--eval") for a in args) or not args:
        return [Decision(Verdict.ASK, "shell:interpreter", "an interpreter runs inline code")]
    return [Decision(Verdict.ASK, "shell:interpreter", "an interpreter runs a program")]


_HANDLERS: dict[str, Handler] = {
    "rm": sc.rm,
    "git": sc.git,
    "dd": sc.dd,
    "find": _find,
    "xargs": _xargs,
    "eval": _eval,
    "sudo": _wrapper(Verdict.ASK, "sudo runs as another user", sc.skip_sudo),
    "doas": _wrapper(Verdict.ASK, "doas runs as another user", sc.skip_sudo),
    "env": _env,
    "timeout": _wrapper(None, "", sc.skip_timeout),
    "nice": _wrapper(None, "", lambda a: sc.skip_options(a, {"-n", "--adjustment"})),
    "ionice": _wrapper(None, "", lambda a: sc.skip_options(a, {"-c", "-n", "-p", "-t"})),
    "nohup": _wrapper(None, "", lambda a: 0),
    "setsid": _wrapper(None, "", lambda a: sc.skip_options(a, set())),
    "stdbuf": _wrapper(None, "", lambda a: sc.skip_options(a, {"-i", "-o", "-e"})),
    "time": _wrapper(None, "", lambda a: sc.skip_options(a, {"-f", "-o"})),
    "command": _command,
    "builtin": _wrapper(None, "", lambda a: 0),
    "exec": _wrapper(None, "", lambda a: sc.skip_options(a, {"-a"})),
    "watch": _wrapper(Verdict.ASK, "watch repeats a command", sc.skip_watch),
    "chroot": _fixed(Verdict.ASK, "shell:wrapper", "chroot changes the root directory"),
    "ssh": _fixed(Verdict.ASK, "shell:remote", "ssh runs commands on another host"),
    "shred": _fixed(Verdict.DENY, "shell:shred", "shred destroys file contents"),
    "wipefs": _fixed(Verdict.DENY, "shell:disk", "wipefs erases filesystem signatures"),
    "mkfs": _fixed(Verdict.DENY, "shell:disk", "mkfs formats a device"),
    "fdisk": _fixed(Verdict.DENY, "shell:disk", "fdisk rewrites partition tables"),
    "shutdown": _fixed(Verdict.DENY, "shell:system", "stops the machine"),
    "reboot": _fixed(Verdict.DENY, "shell:system", "restarts the machine"),
    "halt": _fixed(Verdict.DENY, "shell:system", "stops the machine"),
    "poweroff": _fixed(Verdict.DENY, "shell:system", "stops the machine"),
    "chmod": _recursive_mode,
    "chown": _recursive_mode,
    "chgrp": _recursive_mode,
    "unlink": _fixed(Verdict.ASK, "shell:delete", "unlink deletes a file"),
    "rmdir": _fixed(Verdict.ASK, "shell:delete", "rmdir deletes a directory"),
    "truncate": _fixed(Verdict.ASK, "shell:delete", "truncate discards file contents"),
    "psql": _sql_client(("-c", "--command"), False),
    "mysql": _sql_client(("-e", "--execute"), False),
    "mariadb": _sql_client(("-e", "--execute"), False),
    "sqlite3": _sql_client(("-cmd",), True),
    "duckdb": _sql_client(("-c",), True),
    "python": _interpreter,
    "perl": _interpreter,
    "ruby": _interpreter,
    "node": _interpreter,
}
for _name in ("sh", "bash", "zsh", "dash", "ksh", "ash", "busybox"):
    _HANDLERS[_name] = _shell
for _name in ("source", ".", "alias", "unalias", "set", "shopt", "trap", "enable", "hash"):
    why = f"{_name} changes how later commands run, or runs a file"
    _HANDLERS[_name] = _fixed(Verdict.ASK, "shell:state", why)
