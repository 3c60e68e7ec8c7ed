"""What every shell check shares (ladder level 4): the context, decisions, workspace escapes.

The program checkers (files, text tools, git, SQL clients, wrappers) sit above this module and
the dispatcher (:mod:`shell_detect`) above them; a checker that must look inside another
command (``sudo CMD``, ``find -exec CMD``, ``git rebase --exec CMD``) calls back through the
context, so no checker imports the dispatcher and there is no import circle.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pytest_opsladder.guardrails.verdicts import Decision, Verdict
from pytest_opsladder.guardrails.workspace import Workspace

MAX_COMMAND_CHARS = 4096
MAX_DEPTH = 3
DYNAMIC = "\x00dynamic"
# Asks that only say "not on the known-safe list": a policy's safe_commands may clear them.
NOT_KNOWN_SAFE = "shell:not-known-safe"
UNSAFE_OPTION = "shell:unsafe-option"
PATH_OUTSIDE = "shell:path-outside-workspace"  # written, deleted or changed there: deny
READ_OUTSIDE = "shell:read-outside-workspace"  # only read there: ask
CLEARABLE = frozenset(
    {NOT_KNOWN_SAFE, UNSAFE_OPTION, "shell:interpreter", "git:not-read-only", "git:network"}
)
# Devices that are not storage: reading or writing them destroys nothing.
HARMLESS_DEVICES = frozenset(
    {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero", "/dev/fd/1", "/dev/fd/2"}
    | {"/dev/stdin", "/dev/fd/0", "/dev/urandom", "/dev/random", "/dev/full"}
)


@dataclass(frozen=True, slots=True)
class Stdin:
    """What a command reads on standard input: known ``text``, or ``None`` when unseen."""

    text: str | None = None
    present: bool = False


_NO_STDIN = Stdin()
ArgvCheck = Callable[[list[str], "ShellContext"], list[Decision]]
ScriptCheck = Callable[[str, "ShellContext"], list[Decision]]


def _no_argv(argv: list[str], ctx: ShellContext) -> list[Decision]:
    return [ask("shell:nesting", "no command checker is installed")]


def _no_script(text: str, ctx: ShellContext) -> list[Decision]:
    return [ask("shell:nesting", "no script checker is installed")]


@dataclass(frozen=True, slots=True)
class ShellContext:
    """What a shell check needs from the policy, and the callbacks that look inside commands."""

    workspace: Workspace | None = None
    max_chars: int = MAX_COMMAND_CHARS
    depth: int = 0
    safe_patterns: tuple[Any, ...] = ()
    cwds: tuple[str, ...] = ()
    stdin: Stdin = field(default_factory=Stdin)
    argv_check: ArgvCheck = _no_argv
    script_check: ScriptCheck = _no_script

    def deeper(self) -> ShellContext:
        return self.at(self.cwds, _NO_STDIN, self.depth + 1)

    def at(self, cwds: tuple[str, ...], stdin: Stdin, depth: int | None = None) -> ShellContext:
        """This context for one command: its directories and its standard input.

        Built directly rather than with ``dataclasses.replace``, which costs more than the
        rest of a typical decision (this runs once per simple command).
        """
        depth = self.depth if depth is None else depth
        return ShellContext(
            self.workspace, self.max_chars, depth, self.safe_patterns, cwds, stdin,
            self.argv_check, self.script_check,
        )  # fmt: skip

    def check_argv(self, argv: list[str]) -> list[Decision]:
        """Decisions for a command another command runs (wrappers, ``-exec``)."""
        return self.argv_check(argv, self.at(self.cwds, _NO_STDIN)) if argv else []

    def check_script(self, text: str) -> list[Decision]:
        """Decisions for shell text another command runs (``sh -c``, ``su -c``)."""
        if self.depth >= MAX_DEPTH:
            return [ask("shell:nesting", f"shells nested over {MAX_DEPTH} deep")]
        return self.script_check(text, self.deeper())


# Findings that say "this command deletes (or empties) the files it is given".
DELETES = frozenset({"shell:delete", "git:rm"})


def mass_delete(runner: str, inner: list[Decision], rule: str) -> list[Decision]:
    """A deny when a command run once per file (``find -exec``, ``xargs``) deletes files.

    ``rm FILE`` asks, but ``find . -type f -exec rm {} ;`` and ``find ... | xargs rm`` delete
    every match, as ``find -delete`` does: they are denied like it.
    """
    found = next((d for d in inner if d.rule in DELETES), None)
    if found is None:
        return []
    why = f"{runner} deletes every file it is given ({found.reason})"
    return [deny(rule, why)]


def words(text: str) -> frozenset[str]:
    """A set of names written as one space-separated string (long lists stay readable)."""
    return frozenset(text.split())


def ask(rule: str, reason: str) -> Decision:
    return Decision(Verdict.ASK, rule, reason)


def deny(rule: str, reason: str) -> Decision:
    return Decision(Verdict.DENY, rule, reason)


def not_known_safe(name: str) -> Decision:
    return ask(NOT_KNOWN_SAFE, f"{name!r} is not a known-safe program")


def unsafe_options(name: str, words: Iterable[str]) -> list[Decision]:
    return [
        ask(UNSAFE_OPTION, f"option {w!r} of {name} is not on its known-safe list") for w in words
    ]


def path_decisions(
    name: str, values: Iterable[str], ctx: ShellContext, *, writes: bool = True
) -> list[Decision]:
    """A finding for every path that leads out of the workspace (from the root or any ``cd``).

    A path the command writes, deletes or changes (``writes``, the default for anything not
    known to only read it) is denied there; a path it only reads asks: reading outside the
    workspace destroys nothing, but it is not known to be safe either (``cat ~/.ssh/id_rsa``).
    A storage device is denied either way (raw disk access).
    """
    out = []
    for value in values:
        target = _path_of(value)
        if target is None or target in HARMLESS_DEVICES:
            continue
        if _is_storage_device(target):
            out.append(
                deny(
                    "shell:device", f"{name} opens the storage device {target!r} (raw disk access)"
                )
            )
        elif ctx.workspace is not None and not _inside(ctx.workspace, target, ctx.cwds):
            root = ctx.workspace.root
            if writes:
                why = f"{name}: path {value!r} resolves outside the workspace {root}"
                out.append(deny(PATH_OUTSIDE, why))
            else:
                why = f"{name} reads {value!r}, which resolves outside the workspace {root}"
                out.append(ask(READ_OUTSIDE, why))
    return out


def _path_of(value: str) -> str | None:
    if value == DYNAMIC or not value or value.startswith(DYNAMIC):
        return None
    if value.lower().startswith("file:"):
        return urlsplit(value).path or "/"
    if "://" in value:
        return None
    return value


def _is_storage_device(target: str) -> bool:
    return target.startswith("/dev/") and target not in HARMLESS_DEVICES


def _inside(workspace: Workspace, target: str, cwds: tuple[str, ...]) -> bool:
    if os.path.isabs(target) or not cwds:
        return workspace.contains(target)
    return workspace.contains(target) and all(
        workspace.contains(os.path.join(cwd, target)) for cwd in cwds
    )


def glued_values(args: list[str]) -> list[str]:
    """Every word a program without a spec might read as a path, glued values included."""
    out = []
    for arg in args:
        out.append(arg)
        if arg.startswith("-") and "=" in arg:
            out.append(arg.split("=", 1)[1])
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            out.append(arg[2:])
        elif "=" in arg:
            out.append(arg.split("=", 1)[1])
        elif arg.startswith("@"):
            out.append(arg[1:])
    return [a for a in out if not a.startswith("-") or a == "-"]
