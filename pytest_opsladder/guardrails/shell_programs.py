"""The known-safe list of read-only programs (ladder level 4), each with its safe options.

A program runs unasked only when it is listed here (or in :mod:`shell_text_tools`,
:mod:`shell_git`, :mod:`shell_runtimes`) and every option it is given is one of its safe
options, read as the program reads them (:mod:`shell_options`). Options a program has that
write, run commands or reach the network are listed with ``!`` so that an abbreviation can
never be mistaken for a safe option. Every path-valued operand or option is checked for
workspace escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pytest_opsladder.guardrails.shell_context import (
    ShellContext,
    ask,
    path_decisions,
    unsafe_options,
)
from pytest_opsladder.guardrails.shell_options import OptionSpec, parse_options, spec
from pytest_opsladder.guardrails.verdicts import Decision


class Operands(StrEnum):
    """What a program's operands are."""

    PATHS = "paths"  # files and directories: checked for workspace escapes
    TEXT = "text"  # printed or compared, never opened
    PATTERN_PATHS = "pattern-paths"  # a pattern (unless given by -e/-f), then paths
    NONE = "none"  # any operand changes what the program does (``hostname NAME`` sets it)


@dataclass(frozen=True, slots=True)
class SafeProgram:
    options: OptionSpec
    operands: Operands = Operands.PATHS


_HELP = " --help --version"
_LS = (
    "-a|--all -A|--almost-all -l -h|--human-readable -t -r|--reverse -S -1 -R|--recursive"
    " -d|--directory -F|--classify? -G|--no-group -i|--inode -s|--size -c -u -x -C -p -n"
    "|--numeric-uid-gid -g -o -L|--dereference -H|--dereference-command-line -X -v -Q"
    "|--quote-name -m -U -B|--ignore-backups -N|--literal -k|--kibibytes --color? --time-style="
    " --sort= --time= --group-directories-first --full-time --format= --indicator-style="
    " -I=|--ignore= --hide= -w=|--width= --block-size= --si --author -Z|--context -T=|--tabsize="
    " --hyperlink? --quoting-style= -b|--escape -q|--hide-control-chars --show-control-chars"
    " --file-type --zero" + _HELP
)
_HEAD = "-n=|--lines= -c=|--bytes= -q|--quiet|--silent -v|--verbose -z|--zero-terminated" + _HELP
_TAIL = _HEAD + " -f|--follow? -F --retry -s=|--sleep-interval= --pid= --max-unchanged-stats="
_GREP = (
    "-r|--recursive -R|--dereference-recursive -n|--line-number -i|--ignore-case -y"
    " --no-ignore-case -v|--invert-match -l|--files-with-matches -L|--files-without-match"
    " -c|--count -w|--word-regexp -x|--line-regexp -E|--extended-regexp -F|--fixed-strings"
    " -G|--basic-regexp -P|--perl-regexp -o|--only-matching -q|--quiet|--silent"
    " -s|--no-messages -H|--with-filename -h|--no-filename -a|--text -I -z|--null-data"
    " -Z|--null -b|--byte-offset -T|--initial-tab -U|--binary --line-buffered --color?|--colour?"
    " -e=|--regexp= -f@|--file@ -m=|--max-count= -A=|--after-context= -B=|--before-context="
    " -C=|--context= --include= --exclude= --exclude-dir= --exclude-from@ --label="
    " --binary-files= -D=|--devices= -d=|--directories= --group-separator= --no-group-separator"
    " -V" + _HELP
)
_RG = (
    "-i|--ignore-case -s|--case-sensitive -S|--smart-case -v|--invert-match -w|--word-regexp"
    " -x|--line-regexp -l|--files-with-matches --files-without-match -c|--count --count-matches"
    " -n|--line-number -N|--no-line-number -F|--fixed-strings -u|--unrestricted --hidden"
    " --no-ignore --no-ignore-vcs --no-ignore-parent --no-ignore-dot -L|--follow"
    " -o|--only-matching -H|--with-filename -I|--no-filename --no-heading --heading --vimgrep"
    " --json -e=|--regexp= -f@|--file@ -g=|--glob= --iglob= -t=|--type= -T=|--type-not="
    " -m=|--max-count= -A=|--after-context= -B=|--before-context= -C=|--context= -d=|--max-depth="
    " --files --type-list -p|--pretty -U|--multiline --multiline-dotall -P|--pcre2 -a|--text"
    " --color= --colors= --sort= --sortr= -q|--quiet --stats --trim -0|--null -r=|--replace="
    " --column -M=|--max-columns= --max-filesize= -j=|--threads= --no-messages -b|--byte-offset"
    " --glob-case-insensitive --no-config -V" + _HELP + " !--pre= !--pre-glob= !-z|--search-zip"
    " !--hostname-bin="
)
_SORT = (
    "-r|--reverse -n|--numeric-sort -u|--unique -k=|--key= -t=|--field-separator="
    " -h|--human-numeric-sort -f|--ignore-case -V|--version-sort -s|--stable -g"
    "|--general-numeric-sort -M|--month-sort -b|--ignore-leading-blanks -d|--dictionary-order"
    " -z|--zero-terminated -c|--check? -C -R|--random-sort -S=|--buffer-size= --parallel="
    " -T@|--temporary-directory@ --debug" + _HELP + " !-o@|--output@ !--compress-program="
    " !--files0-from@ !--random-source@"
)
_WC = "-l|--lines -w|--words -c|--bytes -m|--chars -L|--max-line-length --total=" + _HELP
_DIFF = (
    "-u|-U=|--unified? -c|-C=|--context? -q|--brief -s|--report-identical-files -r|--recursive"
    " -N|--new-file -i|--ignore-case -w|--ignore-all-space -b|--ignore-space-change"
    " -B|--ignore-blank-lines -y|--side-by-side -a|--text --color? --strip-trailing-cr"
    " --no-dereference -x=|--exclude= -p|--show-c-function -t|--expand-tabs --label="
    " -W=|--width= --suppress-common-lines --normal -Z|--ignore-trailing-space" + _HELP
)
_STAT = "-L|--dereference -f|--file-system -c=|--format= --printf= -t|--terse" + _HELP
_DU = (
    "-h|--human-readable -s|--summarize -a|--all -c|--total -d=|--max-depth= -k -m -b|--bytes"
    " -x|--one-file-system --apparent-size --exclude= -L|--dereference --si --time? --inodes"
    " -B=|--block-size=" + _HELP
)
_SIMPLE: dict[str, tuple[str, Operands]] = {
    "ls": (_LS, Operands.PATHS),
    "dir": (_LS, Operands.PATHS),
    "cat": (
        "-n|--number -b|--number-nonblank -s|--squeeze-blank -v|--show-nonprinting"
        " -E|--show-ends -T|--show-tabs -A|--show-all -e -t -u" + _HELP,
        Operands.PATHS,
    ),
    "head": (_HEAD, Operands.PATHS),
    "tail": (_TAIL, Operands.PATHS),
    "wc": (_WC, Operands.PATHS),
    "grep": (_GREP, Operands.PATTERN_PATHS),
    "egrep": (_GREP, Operands.PATTERN_PATHS),
    "rg": (_RG, Operands.PATTERN_PATHS),
    "ps": ("", Operands.TEXT),
    "pgrep": ("", Operands.TEXT),
    "fgrep": (_GREP, Operands.PATTERN_PATHS),
    "sort": (_SORT, Operands.PATHS),
    "uniq": (
        "-c|--count -d|--repeated -u|--unique -i|--ignore-case -f=|--skip-fields="
        " -s=|--skip-chars= -w=|--check-chars= -z|--zero-terminated -D" + _HELP,
        Operands.PATHS,
    ),
    "cut": (
        "-d=|--delimiter= -f=|--fields= -c=|--characters= -b=|--bytes= -s|--only-delimited"
        " --complement --output-delimiter= -z|--zero-terminated" + _HELP,
        Operands.PATHS,
    ),
    "tr": (
        "-d|--delete -s|--squeeze-repeats -c|-C|--complement -t|--truncate-set1" + _HELP,
        Operands.TEXT,
    ),
    "nl": (
        "-b=|--body-numbering= -n=|--number-format= -w=|--number-width= -s=|--number-separator="
        + _HELP,
        Operands.PATHS,
    ),
    "tac": ("-b|--before -r|--regex -s=|--separator=" + _HELP, Operands.PATHS),
    "rev": ("", Operands.PATHS),
    "diff": (_DIFF, Operands.PATHS),
    "cmp": (
        "-b|--print-bytes -l|--verbose -s|--quiet|--silent -n=|--bytes= -i=|--ignore-initial="
        + _HELP,
        Operands.PATHS,
    ),
    "comm": (
        "-1 -2 -3 --check-order --nocheck-order --output-delimiter= -z|--zero-terminated" + _HELP,
        Operands.PATHS,
    ),
    "stat": (_STAT, Operands.PATHS),
    "file": (
        "-b|--brief -i|--mime -L|--dereference -h|--no-dereference -z|--uncompress"
        " --mime-type --mime-encoding -k|--keep-going" + _HELP,
        Operands.PATHS,
    ),
    "du": (_DU, Operands.PATHS),
    "df": (
        "-h|--human-readable -H|--si -T|--print-type -i|--inodes -a|--all -l|--local"
        " -t=|--type= -x=|--exclude-type= --output? -k -P|--portability --total" + _HELP,
        Operands.PATHS,
    ),
    "tree": (
        "-a -d -f -i -l -L= -P= -I= -s -h -D -C -n -F --noreport --dirsfirst --gitignore"
        " --du --charset= --prune --matchdirs --ignore-case -J -X !-o@" + _HELP,
        Operands.PATHS,
    ),
    "pwd": ("-L|--logical -P|--physical" + _HELP, Operands.NONE),
    "echo": ("-n -e -E", Operands.TEXT),
    "printf": ("", Operands.TEXT),
    "true": ("", Operands.TEXT),
    "false": ("", Operands.TEXT),
    "basename": ("-a|--multiple -s=|--suffix= -z|--zero" + _HELP, Operands.TEXT),
    "dirname": ("-z|--zero" + _HELP, Operands.TEXT),
    "realpath": (
        "-e|--canonicalize-existing -m|--canonicalize-missing -s|--strip|--no-symlinks"
        " -q|--quiet -z|--zero --relative-to@ --relative-base@ -L|--logical"
        " -P|--physical" + _HELP,
        Operands.PATHS,
    ),
    "readlink": (
        "-f|--canonicalize -e|--canonicalize-existing -m|--canonicalize-missing"
        " -n|--no-newline -q|--quiet -s|--silent -v|--verbose -z|--zero" + _HELP,
        Operands.PATHS,
    ),
    "which": ("-a" + _HELP, Operands.TEXT),
    "whereis": ("-b -m -s -u", Operands.TEXT),
    "type": ("-a -f -P -p -t", Operands.TEXT),
    "whoami": (_HELP, Operands.NONE),
    "id": ("-u|--user -g|--group -G|--groups -n|--name -r|--real -z|--zero" + _HELP, Operands.TEXT),
    "groups": (_HELP, Operands.TEXT),
    "uname": (
        "-a|--all -s|--kernel-name -n|--nodename -r|--kernel-release -v|--kernel-version"
        " -m|--machine -p|--processor -i|--hardware-platform -o|--operating-system" + _HELP,
        Operands.NONE,
    ),
    "hostname": (
        "-f|--fqdn|--long -s|--short -i|--ip-address -I|--all-ip-addresses -d|--domain" + _HELP,
        Operands.NONE,
    ),
    "printenv": ("-0|--null" + _HELP, Operands.TEXT),
    "uptime": ("-p|--pretty -s|--since" + _HELP, Operands.NONE),
    "nproc": ("--all --ignore=" + _HELP, Operands.NONE),
    "free": ("-b -k -m -g -h|--human -w|--wide -t|--total --si" + _HELP, Operands.NONE),
    "md5sum": (
        "-b|--binary -c|--check -t|--text --quiet --status --strict -w|--warn -z|--zero" + _HELP,
        Operands.PATHS,
    ),
    "cksum": (_HELP, Operands.PATHS),
    "od": ("-A= -t= -N= -j= -v -c -x -b -d" + _HELP, Operands.PATHS),
    "hexdump": ("-C -c -n= -s= -v -x", Operands.PATHS),
    "column": (
        "-t|--table -s=|--separator= -o=|--output-separator= -c=|--output-width="
        " -x|--fillrows -n" + _HELP,
        Operands.PATHS,
    ),
    "fold": ("-w=|--width= -s|--spaces -b|--bytes" + _HELP, Operands.PATHS),
    "seq": ("-s=|--separator= -w|--equal-width -f=|--format=" + _HELP, Operands.TEXT),
    "expr": ("", Operands.TEXT),
    "test": ("", Operands.TEXT),
    "[": ("", Operands.TEXT),
    "sleep": (_HELP, Operands.TEXT),
    "jq": (
        "-r|--raw-output -c|--compact-output -s|--slurp -n|--null-input -e|--exit-status"
        " -S|--sort-keys -j|--join-output -a|--ascii-output --tab --indent= -C|--color-output"
        " -M|--monochrome-output -R|--raw-input" + _HELP,
        Operands.PATTERN_PATHS,
    ),
}
for _sum in ("sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "b2sum"):
    _SIMPLE[_sum] = _SIMPLE["md5sum"]
# Programs whose argument parser knows no abbreviations (clap, hand-written).
_EXACT = {"rg", "tree", "jq", "hexdump", "echo", "printf", "test", "[", "expr", "which", "type"}
_NUMERIC = {"head", "tail", "grep", "egrep", "fgrep"}
# Builtins and tools that stop at the first operand: ``echo -n x -e`` prints ``-e``.
_POSIX = {"echo", "printf", "test", "[", "expr", "seq"}

# Programs whose second operand is a file they write: ``uniq IN OUT``.
_ONE_INPUT = {"uniq"}
_TEXT_ONLY = {"echo", "printf", "test", "[", "expr", "true", "false", "ps", "pgrep"}
SAFE_PROGRAMS: dict[str, SafeProgram] = {
    name: SafeProgram(
        spec(text, prefix=name not in _EXACT, permute=name not in _POSIX, numeric=name in _NUMERIC),
        operands,
    )
    for name, (text, operands) in _SIMPLE.items()
}


def safe_program_decisions(name: str, args: list[str], ctx: ShellContext) -> list[Decision]:
    """Asks for every option not on ``name``'s safe list; denies for escaping paths."""
    program = SAFE_PROGRAMS[name]
    if name in _TEXT_ONLY:
        # What they print, compare or list is never opened, changed or run, except a
        # variable name they are given: ``test -v 'a[$(cmd)]'`` and ``printf -v 'a[$(cmd)]'``
        # evaluate the subscript, and bash runs the command substitution in it.
        return _variable_names(name, args, ctx)
    parsed = parse_options(args, program.options)
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in program.options.unsafe]
    out = unsafe_options(name, bad)
    operands = parsed.operands
    if program.operands is Operands.NONE and operands:
        out += unsafe_options(name, [f"operand {operands[0]}"])
    if name in _ONE_INPUT and len(operands) > 1:
        out += unsafe_options(name, [f"operand {operands[1]} (an output file)"])
    if program.operands is Operands.TEXT:
        operands = []
    elif program.operands is Operands.PATTERN_PATHS and not parsed.get("--regexp", "--file"):
        operands = operands[1:]
    written = [o.value for o in parsed.options if o.name in program.options.unsafe and o.value]
    read = operands + [p for p in parsed.paths() if p not in written]
    return out + path_decisions(name, read, ctx, writes=False) + path_decisions(name, written, ctx)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _variable_names(name: str, args: list[str], ctx: ShellContext) -> list[Decision]:
    """``test -v NAME`` and ``printf -v NAME``: a NAME with a subscript is code bash runs."""
    if name == "printf":
        names = args[1:2] if args[:1] == ["-v"] else []
    elif name in ("test", "["):
        names = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-v"]
    else:
        return []
    out: list[Decision] = []
    for word in names:
        if _IDENTIFIER.fullmatch(word) is None:
            why = f"{name} -v {word[:40]!r}: bash evaluates the subscript of a variable name"
            out += [ask("shell:dynamic", why), *ctx.check_script(word)]
    return out
