"""Word-level readers of particular commands (ladder level 4): flags, wrappers, git, rm, dd.

Flags are read as the command reads them: combined short flags (``-rf``) are split into
characters, long flags are compared whole (``--force``, ``--force-with-lease=...``), and ``--``
ends the options. That is why flag order and spelling cannot hide a destructive form.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pytest_opsladder.guardrails.verdicts import Decision, Verdict

if TYPE_CHECKING:
    from pytest_opsladder.guardrails.shell_detect import ShellContext

XARGS_VALUE_OPTS = {"-I", "-n", "-P", "-d", "-L", "-s", "-E", "-a", "-i"}
_SUDO_VALUE_OPTS = {"-u", "-g", "-C", "-h", "-p", "-U", "-r", "-t", "-D", "-T"}
_GIT_VALUE_OPTS = {"-C", "--git-dir", "--work-tree", "--namespace", "--exec-path"}


def split_flags(args: list[str]) -> tuple[set[str], set[str], list[str]]:
    """(short flag characters, long flags without values, operands) as getopt would see them."""
    short: set[str] = set()
    long: set[str] = set()
    operands: list[str] = []
    ended = False
    for arg in args:
        if ended or arg == "-" or not arg.startswith("-"):
            operands.append(arg)
        elif arg == "--":
            ended = True
        elif arg.startswith("--"):
            long.add(arg.split("=", 1)[0])
        else:
            short.update(arg[1:])
    return short, long, operands


def skip_options(args: list[str], with_value: set[str]) -> int:
    """Index of the first word after the leading options (values of ``with_value`` skipped)."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        if args[i] == "--":
            return i + 1
        i += 2 if args[i] in with_value else 1
    return i


def skip_sudo(args: list[str]) -> int:
    return skip_options(args, _SUDO_VALUE_OPTS)


def skip_timeout(args: list[str]) -> int:
    i = skip_options(args, {"-s", "-k", "--signal", "--kill-after"})
    return i + 1  # the duration


def skip_watch(args: list[str]) -> int:
    return skip_options(args, {"-n", "--interval", "-d"})


def skip_env(args: list[str]) -> tuple[int, list[str]]:
    """(index of the command, names of the variables env sets before running it)."""
    i = skip_options(args, {"-u", "--unset", "-C", "--chdir", "-S", "--split-string"})
    assigns: list[str] = []
    while i < len(args) and "=" in args[i] and not args[i].startswith("="):
        assigns.append(args[i].split("=", 1)[0])
        i += 1
    if any(a in ("-S", "--split-string") or a.startswith("--split-string=") for a in args[:i]):
        assigns.append("(a split string)")
    return i, assigns


def shell_c_script(args: list[str]) -> str | None:
    """The script of ``sh -c SCRIPT`` (``-c`` may be combined: ``-lc``, ``-ec``), or None."""
    for index, arg in enumerate(args):
        if not arg.startswith("-") or arg == "--":
            return None
        if not arg.startswith("--") and "c" in arg[1:]:
            return args[index + 1] if index + 1 < len(args) else ""
    return None


def find_exec_commands(args: list[str]) -> Iterator[list[str]]:
    """The commands that ``find -exec/-execdir/-ok/-okdir ... ;`` runs on each match."""
    i = 0
    while i < len(args):
        if args[i] in ("-exec", "-execdir", "-ok", "-okdir"):
            end = i + 1
            while end < len(args) and args[end] not in (";", "+"):
                end += 1
            yield args[i + 1 : end]
            i = end
        i += 1


def sql_argument(args: list[str], flag_opts: tuple[str, ...], positional: bool) -> str | None:
    """The SQL a database client runs from its arguments, or None (file or stdin)."""
    for index, arg in enumerate(args):
        for opt in flag_opts:
            if arg == opt and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(opt + "=") or (len(opt) == 2 and arg.startswith(opt) and arg != opt):
                return arg[len(opt) + (arg[len(opt)] == "=") :]
    if positional:
        operands = [a for a in args if not a.startswith("-")]
        return operands[1] if len(operands) > 1 else None
    return None


def rm(args: list[str], ctx: ShellContext) -> list[Decision]:
    short, long, _ = split_flags(args)
    forceful = sorted(
        ({"-" + c for c in short & set("rRf")})
        | (long & {"--recursive", "--force", "--no-preserve-root"})
    )
    if forceful:
        why = f"rm {' '.join(forceful)} deletes without asking or recovery"
        return [Decision(Verdict.DENY, "shell:rm-recursive-force", why)]
    return [Decision(Verdict.ASK, "shell:delete", "rm deletes files")]


def dd(args: list[str], ctx: ShellContext) -> list[Decision]:
    if any(a.startswith("of=") for a in args):
        return [Decision(Verdict.DENY, "shell:dd", "dd of=... overwrites a file or device")]
    return []


def git(args: list[str], ctx: ShellContext) -> list[Decision]:
    i = 0
    out: list[Decision] = []
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "-c" or args[i].startswith("--config-env"):
            why = "git -c can redefine aliases, hooks and commands"
            out.append(Decision(Verdict.ASK, "git:config-override", why))
        i += 2 if args[i] in _GIT_VALUE_OPTS or args[i] == "-c" else 1
    if i >= len(args):
        return out
    check = _GIT.get(args[i])
    return out + (check(args[i + 1 :]) if check else [])


def _git_push(args: list[str]) -> list[Decision]:
    short, long, operands = split_flags(args)
    if "f" in short or long & {"--force", "--force-with-lease", "--mirror"}:
        return [Decision(Verdict.DENY, "git:force-push", "a force push rewrites remote history")]
    if any(op.startswith("+") for op in operands):
        why = "a +refspec force-pushes that ref"
        return [Decision(Verdict.DENY, "git:force-push", why)]
    if "d" in short or "--delete" in long or any(op.startswith(":") for op in operands):
        return [Decision(Verdict.DENY, "git:push-delete", "the push deletes a remote ref")]
    return []


def _git_reset(args: list[str]) -> list[Decision]:
    _, long, _ = split_flags(args)
    if long & {"--hard", "--merge", "--keep"}:
        why = "git reset --hard discards uncommitted work"
        return [Decision(Verdict.DENY, "git:reset-hard", why)]
    return []


def _git_branch(args: list[str]) -> list[Decision]:
    short, long, _ = split_flags(args)
    if short & set("dDM") or "--delete" in long:
        return [Decision(Verdict.DENY, "git:branch-delete", "deletes or overwrites a branch")]
    return []


def _git_clean(args: list[str]) -> list[Decision]:
    short, long, _ = split_flags(args)
    if "f" in short or "--force" in long:
        return [Decision(Verdict.DENY, "git:clean", "git clean -f deletes untracked files")]
    return []


def _git_rm(args: list[str]) -> list[Decision]:
    short, long, _ = split_flags(args)
    if "--cached" in long:
        return []  # only unstages; the files stay
    if short & set("rf") or long & {"--force"}:
        why = "git rm -r/-f deletes files, even with uncommitted changes"
        return [Decision(Verdict.DENY, "git:rm", why)]
    return [Decision(Verdict.ASK, "git:rm", "git rm deletes files from the working tree")]


def _git_discard(args: list[str]) -> list[Decision]:
    short, long, operands = split_flags(args)
    if "f" in short or "--force" in long or "." in operands or "--staged" in long:
        why = "discards uncommitted changes in the working tree"
        return [Decision(Verdict.ASK, "git:discard", why)]
    return []


def _git_stash(args: list[str]) -> list[Decision]:
    if args[:1] in (["drop"], ["clear"]):
        return [Decision(Verdict.ASK, "git:discard", f"git stash {args[0]} deletes stashed work")]
    return []


def _git_rewrite(args: list[str]) -> list[Decision]:
    return [Decision(Verdict.DENY, "git:history-rewrite", "rewrites the repository's history")]


_GIT = {
    "push": _git_push,
    "reset": _git_reset,
    "branch": _git_branch,
    "clean": _git_clean,
    "rm": _git_rm,
    "checkout": _git_discard,
    "restore": _git_discard,
    "stash": _git_stash,
    "filter-branch": _git_rewrite,
    "filter-repo": _git_rewrite,
}
