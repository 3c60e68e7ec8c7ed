"""git's read subcommands (ladder level 4): each with the options that only read.

``git diff --output=FILE`` writes and ``git diff --ext-diff`` runs a program, so they are
listed as unsafe (``!``): an abbreviation can never pass for a safe option. Operands are
checked as paths, except revisions such as ``HEAD:path`` and ``A..B``.
"""

from __future__ import annotations

from pytest_opsladder.guardrails.shell_context import (
    ShellContext,
    ask,
    path_decisions,
    unsafe_options,
)
from pytest_opsladder.guardrails.shell_options import ParsedArgs, parse_options, spec
from pytest_opsladder.guardrails.verdicts import Decision

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
BRANCH_READ = (
    "-a|--all -r|--remotes -l|--list -v|--verbose --color? --no-color --contains? --no-contains?"
    " --merged? --no-merged? --sort= --points-at= --format= --show-current --column? --no-column"
    " -i|--ignore-case --abbrev= --no-abbrev -q|--quiet"
)
BRANCH_WRITE = (
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
    "branch": BRANCH_READ + BRANCH_WRITE,
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
READ_SPECS = {name: spec(text, numeric=True) for name, text in _READ.items()}


def read_subcommand(sub: str, args: list[str], ctx: ShellContext) -> list[Decision]:
    option_spec = READ_SPECS[sub]
    parsed = parse_options(args, option_spec)
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in option_spec.unsafe]
    out = unsafe_options(f"git {sub}", bad)
    if sub == "tag" and parsed.operands and not parsed.get("--list"):
        out.append(ask("git:not-read-only", "git tag NAME creates a tag"))
    paths = _git_paths(parsed) + parsed.paths()
    return out + path_decisions(f"git {sub}", paths, ctx, writes=bool(out))


def _git_paths(parsed: ParsedArgs) -> list[str]:
    # ``HEAD:path`` and ``A..B`` name objects, not files in the working tree.
    return [w for w in parsed.operands if not _revision(w)]


def _revision(word: str) -> bool:
    if "../" in word or word.startswith(".."):
        return False  # a relative path that climbs, never a revision range
    return ":" in word or ".." in word
