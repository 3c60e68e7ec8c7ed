"""git under a guardrail (ladder level 4): read subcommands allowed, history destroyers denied.

git's parse-options accepts any unique prefix of a long option, so every subcommand that can
destroy work is parsed with its full option list: ``git reset --har`` is ``--hard``,
``git push --del`` is ``--delete``. Read subcommands (status, log, diff, show, ...) run
unasked with their safe options only (``git diff --output=FILE`` writes, so it asks); every
other subcommand asks, and commands git runs for you (``rebase --exec``, ``bisect run``,
``submodule foreach``) are checked like any other command.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pytest_opsladder.guardrails.shell_context import (
    ShellContext,
    ask,
    deny,
    path_decisions,
    unsafe_options,
)
from pytest_opsladder.guardrails.shell_git_read import (
    BRANCH_READ,
    BRANCH_WRITE,
    READ_SPECS,
    read_subcommand,
)
from pytest_opsladder.guardrails.shell_options import ParsedArgs, parse_options, spec
from pytest_opsladder.guardrails.verdicts import Decision, Verdict

Check = Callable[[list[str], ShellContext], list[Decision]]
_GLOBAL = spec(
    "-C@ --git-dir@ --work-tree@ --no-pager -P -p|--paginate --bare --no-replace-objects"
    " --literal-pathspecs --glob-pathspecs --noglob-pathspecs --icase-pathspecs"
    " --no-optional-locks --no-advice --version --help --html-path --man-path --info-path"
    " !-c= !--config-env= !--exec-path? !--namespace= !--super-prefix= !--list-cmds=",
    prefix=False,
    permute=False,
)


def git(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _GLOBAL)
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in _GLOBAL.unsafe]
    out = [
        ask("git:config-override", f"git {w} can redefine aliases, hooks and commands") for w in bad
    ]
    out += _configured_commands(parsed.values("-c"), ctx)
    found = subcommand(parsed.operands[0], parsed.operands[1:], ctx) if parsed.operands else []
    # ``git -C DIR status`` only reads DIR; a subcommand that is not a plain read may write it.
    reads = not found and not out
    return out + path_decisions("git", parsed.paths(), ctx, writes=not reads) + found


# Settings whose value git runs as a shell command (``pager.<cmd>`` and ``!`` aliases too).
_COMMAND_KEYS = {
    "core.pager", "core.editor", "core.sshcommand", "core.fsmonitor", "core.askpass",
    "sequence.editor", "diff.external", "gpg.program", "credential.helper",
    "interactive.difffilter", "web.browser", "sendemail.smtpserver",
}  # fmt: skip


def _configured_commands(settings: list[str], ctx: ShellContext) -> list[Decision]:
    """``git -c core.pager='rm -rf ~' log`` runs that command: its denials stand."""
    out: list[Decision] = []
    for setting in settings:
        key, _, value = setting.partition("=")
        key = key.strip().lower()
        if key.startswith("alias.") and value.startswith("!"):
            value = value[1:]
        elif key not in _COMMAND_KEYS and not key.startswith("pager."):
            continue
        out += [d for d in ctx.check_script(value.lstrip("!")) if d.verdict is Verdict.DENY]
    return out


def subcommand(sub: str, args: list[str], ctx: ShellContext) -> list[Decision]:
    destructive = _DESTRUCTIVE.get(sub)
    if destructive is not None:
        return destructive(args, ctx)
    if sub in READ_SPECS:
        return read_subcommand(sub, args, ctx)
    return [ask("git:not-read-only", f"git {sub} is not a read-only git subcommand")]


def _spec_check(sub: str, text: str) -> Callable[[list[str]], ParsedArgs]:
    option_spec = spec(text)
    return lambda args: parse_options(args, option_spec)


_PUSH = _spec_check(
    "push",
    "--all --branches --mirror --tags --follow-tags --atomic --no-atomic -n|--dry-run --porcelain"
    " -d|--delete -f|--force --force-with-lease? --force-if-includes --no-force-if-includes"
    " --recurse-submodules= --verify --no-verify -u|--set-upstream --thin --no-thin -q|--quiet"
    " -v|--verbose --progress --prune --repo= --receive-pack= --exec= -o=|--push-option="
    " --signed? --no-signed -4|--ipv4 -6|--ipv6",
)
_PUSH_FORCE = {"--force", "--force-with-lease", "--force-if-includes", "--mirror"}


def _push(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = _PUSH(args)
    out = [ask("git:not-read-only", "git push publishes commits to a remote")]
    for option in parsed.options:
        if option.name in _PUSH_FORCE:
            why = f"git push {option.spelled()} rewrites remote history"
            out.append(deny("git:force-push", why))
        elif option.name in ("--delete", "--prune"):
            why = f"git push {option.spelled()} deletes remote refs"
            out.append(deny("git:push-delete", why))
        elif option.name in ("--receive-pack", "--exec"):
            out.append(ask("git:config-override", f"git push {option.name} runs a program"))
    for word in parsed.unknown:  # an ambiguous prefix of a force option: git may not refuse it
        if word.startswith("--") and any(n.startswith(word.split("=")[0]) for n in _PUSH_FORCE):
            out.append(deny("git:force-push", f"git push {word} may mean a force push"))
    refspecs = parsed.operands[1:]
    if any(r.startswith("+") for r in refspecs):
        out.append(deny("git:force-push", "a +refspec force-pushes that ref"))
    if any(r.startswith(":") for r in refspecs):
        out.append(deny("git:push-delete", "a :refspec deletes that remote ref"))
    return out + unsafe_options("git push", parsed.unknown)


_RESET = _spec_check(
    "reset",
    "--soft --mixed --hard --merge --keep -q|--quiet -p|--patch -N|--intent-to-add"
    " --recurse-submodules? --no-recurse-submodules --refresh --no-refresh"
    " --pathspec-from-file= --pathspec-file-nul",
)


def _reset(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = _RESET(args)
    out = [ask("git:not-read-only", "git reset moves the branch or the index")]
    for option in parsed.options:
        if option.name in ("--hard", "--merge", "--keep"):
            out.append(
                deny("git:reset-hard", f"git reset {option.spelled()} discards uncommitted work")
            )
    return out + unsafe_options("git reset", parsed.unknown)


_CLEAN = _spec_check(
    "clean", "-d -f|--force -i|--interactive -n|--dry-run -q|--quiet -e=|--exclude= -x -X"
)


def _clean(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = _CLEAN(args)
    force = parsed.get("--force")
    if force is not None:
        return [deny("git:clean", f"git clean {force.spelled()} deletes untracked files")]
    return [ask("git:not-read-only", "git clean deletes untracked files")]


_BRANCH = spec(BRANCH_READ + BRANCH_WRITE)
_BRANCH_DESTROYS = {"--delete", "-D", "--move", "-M", "-C", "--force"}


def _branch(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _BRANCH)
    out = []
    for option in parsed.options:
        if option.name in _BRANCH_DESTROYS:
            why = f"git branch {option.spelled()} deletes or overwrites a branch"
            out.append(deny("git:branch-delete", why))
    if out:
        return out
    if parsed.operands and not parsed.get("--list", "--contains", "--merged", "--points-at"):
        out.append(ask("git:not-read-only", "git branch NAME creates a branch"))
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in _BRANCH.unsafe]
    return out + unsafe_options("git branch", bad)


_RM = _spec_check(
    "rm",
    "-f|--force -n|--dry-run -r -q|--quiet --cached --ignore-unmatch --sparse"
    " --pathspec-from-file= --pathspec-file-nul",
)


def _rm(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = _RM(args)
    out = path_decisions("git rm", parsed.operands, ctx)
    if parsed.get("--cached"):
        return [*out, ask("git:not-read-only", "git rm --cached unstages files")]
    forceful = [o.spelled() for o in parsed.options if o.name in ("--force", "-r")]
    if forceful:
        why = f"git rm {' '.join(forceful)} deletes files, even with uncommitted changes"
        return [*out, deny("git:rm", why)]
    return [*out, ask("git:rm", "git rm deletes files from the working tree")]


_CHECKOUT = spec(
    "-q|--quiet --progress --no-progress -f|--force --ours --theirs -b= -B= -t|--track?"
    " --no-track -l --guess --no-guess --detach --orphan= --ignore-skip-worktree-bits"
    " -m|--merge --conflict= -p|--patch --ignore-other-worktrees --overwrite-ignore"
    " --no-overwrite-ignore --recurse-submodules? --no-recurse-submodules --overlay"
    " --no-overlay --pathspec-from-file= --pathspec-file-nul"
)
_SWITCH = spec(
    "-c=|--create= -C=|--force-create= -d|--detach --guess --no-guess -f|--force"
    " --discard-changes -m|--merge --conflict= -q|--quiet --progress --no-progress -t|--track?"
    " --no-track --orphan= --ignore-other-worktrees --recurse-submodules?"
    " --no-recurse-submodules"
)
_RESTORE = spec(
    "-s=|--source= -p|--patch -W|--worktree -S|--staged -q|--quiet --progress --no-progress"
    " --ours --theirs -m|--merge --conflict= --ignore-unmerged --ignore-skip-worktree-bits"
    " --recurse-submodules? --no-recurse-submodules --overlay --no-overlay"
    " --pathspec-from-file= --pathspec-file-nul"
)


def _checkout(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``git checkout BRANCH`` refuses to lose work: asks. ``-f`` and checking out paths
    (``-- .``, ``HEAD -- src``, ``.``, an existing file) overwrite uncommitted changes."""
    parsed = parse_options(args, _CHECKOUT)
    force = parsed.get("--force")
    paths = _pathspecs(args, parsed.operands, ctx)
    out = path_decisions("git checkout", paths, ctx)
    if force is not None:
        why = f"git checkout {force.spelled()} throws away uncommitted changes"
        return [*out, deny("git:discard", why)]
    if paths and not parsed.get("--patch"):
        why = f"git checkout of paths ({' '.join(paths[:3])}) overwrites their uncommitted changes"
        return [*out, deny("git:discard", why)]
    why = "git checkout switches branches or changes the working tree"
    return [*out, ask("git:discard", why), *unsafe_options("git checkout", parsed.unknown)]


def _switch(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _SWITCH)
    force = parsed.get("--force", "--discard-changes")
    if force is not None:
        why = f"git switch {force.spelled()} throws away uncommitted changes"
        return [deny("git:discard", why)]
    why = "git switch changes the checked-out branch"
    return [ask("git:discard", why), *unsafe_options("git switch", parsed.unknown)]


def _restore(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``git restore PATHS`` (the working tree, the default) discards their changes."""
    parsed = parse_options(args, _RESTORE)
    out = path_decisions("git restore", parsed.operands, ctx)
    worktree = parsed.get("--worktree") is not None or parsed.get("--staged") is None
    if worktree and not parsed.get("--patch"):
        why = "git restore overwrites uncommitted changes in the working tree"
        return [*out, deny("git:discard", why)]
    why = "git restore changes the index or, interactively, the working tree"
    return [*out, ask("git:discard", why), *unsafe_options("git restore", parsed.unknown)]


def _pathspecs(args: list[str], operands: list[str], ctx: ShellContext) -> list[str]:
    """The operands of ``git checkout`` that name paths rather than a branch or commit.

    After ``--`` every word is a path; before it, ``.`` and ``:/`` always are, and so is a
    word naming an existing file or directory of the workspace (git reads it as a path too).
    """
    if "--" in args:
        return args[args.index("--") + 1 :]
    root = ctx.workspace.root if ctx.workspace is not None else None
    return [
        w
        for w in operands
        if w in (".", "./", ":/", "*")
        or (root is not None and os.path.exists(os.path.join(root, w)))
    ]


_GC = _spec_check(
    "gc",
    "--aggressive --auto --prune? --no-prune -q|--quiet --force --keep-largest-pack"
    " --cruft --no-cruft --max-cruft-size=",
)


def _gc(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``git gc --prune=now`` deletes unreachable commits at once: the last way back to work
    lost by a reset or a deleted branch (git gc alone keeps them two weeks)."""
    parsed = _GC(args)
    prune = parsed.get("--prune")
    if prune is not None and prune.value not in (None, "never"):
        why = f"git gc {prune.spelled()}={prune.value} deletes unreachable commits now"
        return [deny("git:prune", why)]
    return [ask("git:not-read-only", "git gc repacks the repository")]


def _prune(args: list[str], ctx: ShellContext) -> list[Decision]:
    if any(a in ("-n", "--dry-run") for a in args):
        return [ask("git:not-read-only", "git prune --dry-run lists what it would delete")]
    return [deny("git:prune", "git prune deletes every unreachable object (lost commits)")]


def _deletes_ref(sub: str, options: tuple[str, ...]) -> Check:
    """``git update-ref -d REF``, ``git symbolic-ref -d``: a ref deleted like ``branch -D``."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        if any(a in options or (a.startswith("--del") and "--delete".startswith(a)) for a in args):
            return [deny("git:branch-delete", f"git {sub} -d deletes a ref")]
        return [ask("git:not-read-only", f"git {sub} moves a ref")]

    return check


def _tag(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, READ_SPECS["tag"])
    found = parsed.get("--delete", "--force")
    if found is not None:
        return [deny("git:branch-delete", f"git tag {found.spelled()} deletes or replaces a tag")]
    return read_subcommand("tag", args, ctx)


def _worktree(args: list[str], ctx: ShellContext) -> list[Decision]:
    if args[:1] == ["list"]:
        return []
    force = any(a in ("-f", "--force") or a.startswith("--forc") for a in args)
    if args[:1] == ["remove"] and force:
        why = "git worktree remove --force deletes a working tree with its uncommitted changes"
        return [deny("git:discard", why)]
    return [ask("git:not-read-only", "git worktree changes the working trees")]


def _stash(args: list[str], ctx: ShellContext) -> list[Decision]:
    if args[:1] in (["list"], ["show"]):
        return (
            read_subcommand("log", args[1:], ctx)
            if args[0] == "list"
            else read_subcommand("diff", args[1:], ctx)
        )
    if args[:1] == ["clear"]:
        return [deny("git:discard", "git stash clear deletes every stash")]
    if args[:1] == ["drop"]:
        return [ask("git:discard", "git stash drop deletes stashed work")]
    return [ask("git:not-read-only", "git stash changes the working tree")]


def _runs(sub: str, find: Callable[[list[str]], list[str]], *, shell: bool) -> Check:
    """Subcommands that run a command of the user's choosing: ask, and check that command."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        out = [ask("git:runs-command", f"git {sub} runs commands")]
        for command in find(args):
            out += ctx.check_script(command) if shell else ctx.check_argv(command.split())
        return out

    return check


def _exec_values(args: list[str]) -> list[str]:
    values = [
        args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-x", "--exec", "--exe", "--ex")
    ]
    return values + [a.split("=", 1)[1] for a in args if a.startswith("--ex") and "=" in a]


def _after(word: str) -> Callable[[list[str]], list[str]]:
    def find(args: list[str]) -> list[str]:
        if word not in args:
            return []
        rest = [a for a in args[args.index(word) + 1 :] if not a.startswith("--")]
        return [" ".join(rest)] if rest else []

    return find


def _rewrite(args: list[str], ctx: ShellContext) -> list[Decision]:
    return [deny("git:history-rewrite", "rewrites the repository's history")]


def _reflog(args: list[str], ctx: ShellContext) -> list[Decision]:
    if not args or args[0] == "show":
        return read_subcommand("log", args[1:], ctx)
    if args[0] in ("expire", "delete"):
        return [deny("git:reflog-expire", f"git reflog {args[0]} destroys the undo history")]
    return [ask("git:not-read-only", f"git reflog {args[0]} is not read-only")]


def _remote(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``git remote [-v]``, ``get-url`` and ``show -n`` read the configuration only.

    ``git remote show NAME`` without ``-n`` connects to the remote (the network, ssh and
    credential helpers), as ``ls-remote``, ``fetch`` and ``remote update`` do.
    """
    if all(a in ("-v", "--verbose") for a in args) or args[:1] == ["get-url"]:
        return []
    if args[:1] == ["show"]:
        names = [a for a in args[1:] if not a.startswith("-")]
        if not names or "-n" in args[1:]:
            return []
        why = f"git remote show {names[0]} contacts the remote; 'git remote show -n' does not"
        return [ask("git:network", why)]
    return [ask("git:not-read-only", "git remote changes the configured remotes")]


def _config(args: list[str], ctx: ShellContext) -> list[Decision]:
    reads = {"--get", "--get-all", "--get-regexp", "-l", "--list", "--show-origin", "get", "list"}
    scopes = {"--global", "--local", "--system", "--show-scope", "--name-only", "-z", "--null"}
    if (
        args
        and args[0] in reads
        and all(a in reads | scopes or not a.startswith("-") for a in args)
    ):
        return []
    return [ask("git:not-read-only", "git config changes configuration (aliases, hooks, pagers)")]


_DESTRUCTIVE: dict[str, Check] = {
    "push": _push,
    "reset": _reset,
    "clean": _clean,
    "branch": _branch,
    "rm": _rm,
    "checkout": _checkout,
    "restore": _restore,
    "switch": _switch,
    "gc": _gc,
    "prune": _prune,
    "update-ref": _deletes_ref("update-ref", ("-d",)),
    "symbolic-ref": _deletes_ref("symbolic-ref", ("-d",)),
    "tag": _tag,
    "worktree": _worktree,
    "stash": _stash,
    "filter-branch": _rewrite,
    "filter-repo": _rewrite,
    "reflog": _reflog,
    "remote": _remote,
    "config": _config,
    "rebase": _runs("rebase", _exec_values, shell=True),
    "bisect": _runs("bisect", _after("run"), shell=True),
    "submodule": _runs("submodule", _after("foreach"), shell=True),
}
