"""git under a guardrail (ladder level 4): read subcommands allowed, history destroyers denied.

git's parse-options accepts any unique prefix of a long option, so every subcommand that can
destroy work is parsed with its full option list: ``git reset --har`` is ``--hard``,
``git push --del`` is ``--delete``. Read subcommands (status, log, diff, show, ...) run
unasked with their safe options only (``git diff --output=FILE`` writes, so it asks); every
other subcommand asks, and commands git runs for you (``rebase --exec``, ``bisect run``,
``submodule foreach``) are checked like any other command.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_opsladder.guardrails.shell_context import (
    ShellContext,
    ask,
    deny,
    path_decisions,
    unsafe_options,
)
from pytest_opsladder.guardrails.shell_options import ParsedArgs, parse_options, spec
from pytest_opsladder.guardrails.verdicts import Decision

Check = Callable[[list[str], ShellContext], list[Decision]]
_GLOBAL = spec(
    "-C@ --git-dir@ --work-tree@ --no-pager -P -p|--paginate --bare --no-replace-objects"
    " --literal-pathspecs --glob-pathspecs --noglob-pathspecs --icase-pathspecs"
    " --no-optional-locks --no-advice --version --help --html-path --man-path --info-path"
    " !-c= !--config-env= !--exec-path? !--namespace= !--super-prefix= !--list-cmds=",
    prefix=False,
    permute=False,
)
_DIFF = (
    " --stat? --shortstat --numstat --name-only --name-status --summary --check --raw -z"
    " -p|-u|--patch -s|--no-patch -U?|--unified= -w|--ignore-all-space -b|--ignore-space-change"
    " --ignore-blank-lines --ignore-space-at-eol --ignore-cr-at-eol --word-diff? --word-diff-regex="
    " --color? --no-color --color-words? --color-moved? --diff-filter= --compact-summary"
    " --full-index --binary --minimal --patience --histogram --diff-algorithm= -M?|--find-renames?"
    " -C?|--find-copies? -R --relative? --no-relative --no-renames --exit-code --quiet"
    " --no-ext-diff --no-textconv --textconv -W|--function-context --abbrev? --src-prefix="
    " --dst-prefix= --no-prefix --ignore-submodules? --submodule? --dirstat? --stat-width="
    " --stat-count= -a|--text --indent-heuristic --no-indent-heuristic --merge-base"
    " --cached --staged --no-index -1 -2 -3 --ours --theirs --base"
    " !--output@ !--ext-diff"
)
_LOG = _DIFF + (
    " --oneline --graph --all --decorate? --no-decorate --abbrev-commit --no-abbrev-commit"
    " --format= --pretty? --date= --since= --after= --until= --before= --author= --committer="
    " --grep= -i|--regexp-ignore-case --all-match --invert-grep -E|--extended-regexp"
    " -F|--fixed-strings -S= -G= --pickaxe-all --pickaxe-regex -n=|--max-count= --skip= --follow"
    " --reverse --no-merges --merges --first-parent --topo-order --date-order"
    " --author-date-order --left-right --cherry-pick --cherry-mark --cherry --boundary"
    " --branches? --tags? --remotes? --mailmap --use-mailmap --show-signature --log-size"
    " --full-diff --notes? --no-notes --source --simplify-by-decoration --ancestry-path?"
    " --no-walk? --do-walk --encoding= -g|--walk-reflogs --max-parents= --min-parents="
    " --not -L= -m -c --cc --remerge-diff --diff-merges= --expand-tabs? --show-notes?"
)
_BRANCH_READ = (
    "-a|--all -r|--remotes -l|--list -v|--verbose --color? --no-color --contains? --no-contains?"
    " --merged? --no-merged? --sort= --points-at= --format= --show-current --column? --no-column"
    " -i|--ignore-case --abbrev= --no-abbrev -q|--quiet"
)
_BRANCH_WRITE = (
    " !-d|--delete !-D !-m|--move !-M !-c|--copy !-C !-f|--force !-u|--set-upstream-to="
    " !--unset-upstream !--edit-description !-t|--track? !--no-track !--create-reflog"
    " !--recurse-submodules"
)
_READ: dict[str, str] = {
    "status": "-s|--short -b|--branch --porcelain? --long -v|--verbose -u?|--untracked-files?"
    " --ignored? --ignore-submodules? -z --column? --no-column --ahead-behind --no-ahead-behind"
    " --renames --no-renames --find-renames? --show-stash",
    "log": _LOG,
    "show": _LOG,
    "whatchanged": _LOG,
    "diff": _DIFF,
    "diff-tree": _DIFF + " -r -t --root --stdin --no-commit-id -m -c --cc",
    "diff-index": _DIFF,
    "diff-files": _DIFF,
    "branch": _BRANCH_READ + _BRANCH_WRITE,
    "tag": "-l|--list -n? --sort= --contains? --no-contains? --points-at= --merged? --no-merged?"
    " --format= --column? --no-column -i|--ignore-case --color? !-d|--delete !-a|--annotate"
    " !-s|--sign !-f|--force !-m|--message= !-F|--file@ !-u|--local-user= !-v|--verify",
    "rev-parse": "--show-toplevel --abbrev-ref? --short? --verify -q|--quiet --git-dir"
    " --is-inside-work-tree --is-inside-git-dir --symbolic-full-name --symbolic --all --branches?"
    " --tags? --remotes? --show-prefix --show-cdup --absolute-git-dir --git-common-dir"
    " --is-bare-repository --sq --default= --path-format= --show-superproject-working-tree"
    " --local-env-vars --revs-only --no-revs --flags --no-flags",
    "ls-files": "-c|--cached -d|--deleted -m|--modified -o|--others -i|--ignored -s|--stage"
    " -u|--unmerged -k|--killed -z -t -v -f --exclude-standard -x=|--exclude= -X@|--exclude-from@"
    " --full-name --error-unmatch --directory --no-empty-directory --recurse-submodules --abbrev?"
    " --debug --eol --deduplicate --format=",
    "ls-tree": "-r -t -d -l|--long -z --name-only --name-status --object-only --full-name"
    " --full-tree --abbrev? --format=",
    "blame": "-L= -l -t -s -e|--show-email -w -M? -C? -p|--porcelain --line-porcelain"
    " --incremental --root --show-stats -f|--show-name -n|--show-number -c --date= --since="
    " --abbrev? --color-lines --color-by-age --minimal --first-parent --reverse= --ignore-rev="
    " --ignore-revs-file@ --progress --no-progress",
    "describe": "--tags --all --long --abbrev? --always --dirty? --broken? --exact-match"
    " --candidates= --match= --exclude= --first-parent --contains",
    "shortlog": "-n|--numbered -s|--summary -e|--email -c|--committer --format= -w? --group="
    " --all --since= --until= --author= --no-merges",
    "cat-file": "-t -s -p -e --textconv --filters --follow-symlinks --batch? --batch-check?"
    " --batch-all-objects --unordered --buffer -Z --allow-unknown-type",
    "show-ref": "--head --heads --branches --tags -d|--dereference -s|--hash? --verify --abbrev?"
    " -q|--quiet --exists",
    "for-each-ref": "--count= --sort= --format= --color? --points-at= --merged? --no-merged?"
    " --contains? --no-contains? --ignore-case --shell --perl --python --tcl --exclude=",
    "merge-base": "-a|--all --octopus --independent --is-ancestor --fork-point",
    "rev-list": _LOG + " --count --objects --objects-edge --parents --children --timestamp",
    "name-rev": "--tags --refs= --exclude= --all --annotate-stdin --name-only --no-undefined"
    " --always",
    "count-objects": "-v|--verbose -H|--human-readable",
    "version": "--build-options",
    "grep": "-r -n|--line-number -i|--ignore-case -v|--invert-match -l|--files-with-matches"
    " -L|--files-without-match -c|--count -w|--word-regexp -E|--extended-regexp"
    " -F|--fixed-strings -P|--perl-regexp -e= -h -H --full-name --cached --untracked"
    " --no-index --recurse-submodules -I --max-depth= -W|--function-context -A= -B= -C= -q"
    " --color? --heading --break -o|--only-matching --column -p|--show-function --and --or"
    " --not --all-match -z|--null !-O?|--open-files-in-pager?",
}
_READ_SPECS = {name: spec(text, numeric=True) for name, text in _READ.items()}


def git(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _GLOBAL)
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in _GLOBAL.unsafe]
    out = [
        ask("git:config-override", f"git {w} can redefine aliases, hooks and commands") for w in bad
    ]
    out += path_decisions("git", parsed.paths(), ctx)
    if not parsed.operands:
        return out
    sub, rest = parsed.operands[0], parsed.operands[1:]
    return out + subcommand(sub, rest, ctx)


def subcommand(sub: str, args: list[str], ctx: ShellContext) -> list[Decision]:
    destructive = _DESTRUCTIVE.get(sub)
    if destructive is not None:
        return destructive(args, ctx)
    if sub in _READ_SPECS:
        return _read(sub, args, ctx)
    return [ask("git:not-read-only", f"git {sub} is not a read-only git subcommand")]


def _read(sub: str, args: list[str], ctx: ShellContext) -> list[Decision]:
    option_spec = _READ_SPECS[sub]
    parsed = parse_options(args, option_spec)
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in option_spec.unsafe]
    out = unsafe_options(f"git {sub}", bad)
    if sub == "tag" and parsed.operands and not parsed.get("--list"):
        out.append(ask("git:not-read-only", "git tag NAME creates a tag"))
    return out + path_decisions(f"git {sub}", _git_paths(parsed) + parsed.paths(), ctx)


def _git_paths(parsed: ParsedArgs) -> list[str]:
    # ``HEAD:path`` and ``A..B`` name objects, not files in the working tree.
    return [w for w in parsed.operands if ":" not in w and ".." not in w.strip(".")]


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


_BRANCH = spec(_BRANCH_READ + _BRANCH_WRITE)
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


def _discard(sub: str) -> Check:
    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        why = f"git {sub} can discard uncommitted changes in the working tree"
        return [ask("git:discard", why), *path_decisions(f"git {sub}", _files(args), ctx)]

    return check


def _files(args: list[str]) -> list[str]:
    return args[args.index("--") + 1 :] if "--" in args else []


def _stash(args: list[str], ctx: ShellContext) -> list[Decision]:
    if args[:1] in (["list"], ["show"]):
        return _read("log", args[1:], ctx) if args[0] == "list" else _read("diff", args[1:], ctx)
    if args[:1] in (["drop"], ["clear"]):
        return [ask("git:discard", f"git stash {args[0]} deletes stashed work")]
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
        return _read("log", args[1:], ctx)
    if args[0] in ("expire", "delete"):
        return [deny("git:reflog-expire", f"git reflog {args[0]} destroys the undo history")]
    return [ask("git:not-read-only", f"git reflog {args[0]} is not read-only")]


def _remote(args: list[str], ctx: ShellContext) -> list[Decision]:
    if all(a in ("-v", "--verbose") for a in args) or args[:1] in (["show"], ["get-url"]):
        return []
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
    "checkout": _discard("checkout"),
    "restore": _discard("restore"),
    "switch": _discard("switch"),
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
