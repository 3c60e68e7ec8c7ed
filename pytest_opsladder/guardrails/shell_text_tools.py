"""Programs that are safe only in some forms (ladder level 4): find, sed, awk, date, cd.

``find`` without actions only lists; ``-delete`` destroys, ``-exec`` runs a command (checked
like any other), ``-fprint`` writes. ``sed`` without ``-i`` only prints, unless its script
writes (``w``), reads (``r``) or executes (``e``, the ``s///e`` flag). An ``awk`` program
that calls ``system``, reads with ``getline``, pipes or redirects, uses a gawk ``@`` form
(``@f()`` is an indirect call: ``f = "sys" "tem"`` makes it ``system``) or sets ``ARGV`` is
not read-only; a literal command it passes to ``system`` or ``@f`` is checked like any shell
text, so ``awk 'BEGIN{system("rm -rf /")}'`` is denied, not merely asked.
"""

from __future__ import annotations

import os
import re

from pytest_opsladder.guardrails.shell_context import (
    ShellContext,
    ask,
    deny,
    mass_delete,
    path_decisions,
    unsafe_options,
    words,
)
from pytest_opsladder.guardrails.shell_options import parse_options, spec
from pytest_opsladder.guardrails.verdicts import Decision

_FIND_LEADING = {"-H", "-L", "-P"}
_FIND_TESTS_WITH_VALUE = words(
    "-name -iname -path -ipath -wholename -iwholename -regex -iregex -type -xtype -maxdepth"
    " -mindepth -mtime -mmin -atime -amin -ctime -cmin -size -perm -user -group -links -inum"
    " -uid -gid -lname -ilname -regextype -printf -used -fstype -context"
)
_FIND_TESTS_WITH_PATH = {"-newer", "-anewer", "-cnewer", "-samefile"}
_FIND_FLAGS = words(
    "-print -print0 -ls -prune -not -a -and -o -or -depth -follow -xdev -mount -readable"
    " -writable -executable -nouser -nogroup -quit -true -false -daystart -noleaf -empty"
    " -ignore_readdir_race -noignore_readdir_race ( ) ! ,"
)
_FIND_EXEC = {"-exec", "-execdir", "-ok", "-okdir"}
_FIND_WRITES = {"-fprint", "-fprint0", "-fprintf", "-fls"}


def find(args: list[str], ctx: ShellContext) -> list[Decision]:
    i = 0
    while i < len(args) and (args[i] in _FIND_LEADING or args[i].startswith(("-D", "-O"))):
        i += 2 if args[i] == "-D" else 1
    starts: list[str] = []
    while i < len(args) and not args[i].startswith("-") and args[i] not in ("(", "!", ")"):
        starts.append(args[i])
        i += 1
    return path_decisions("find", starts, ctx, writes=False) + _find_expression(args[i:], ctx)


def _find_expression(args: list[str], ctx: ShellContext) -> list[Decision]:
    out: list[Decision] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "-delete":
            out.append(deny("shell:find-delete", "find -delete removes every match"))
        elif word in _FIND_EXEC:
            end = next((j for j in range(i + 1, len(args)) if args[j] in (";", "+")), len(args))
            out.append(ask("shell:find-exec", f"find {word} runs a command on every match"))
            inner = ctx.check_argv(args[i + 1 : end])
            out += inner + mass_delete(f"find {word}", inner, "shell:find-delete")
            i = end
        elif word in _FIND_WRITES:
            out.append(ask("shell:find-writes", f"find {word} writes a file"))
            out += path_decisions("find", args[i + 1 : i + 2], ctx)
            i += 2 if word != "-fprintf" else 3
            continue
        elif word in _FIND_TESTS_WITH_PATH:
            out += path_decisions("find", args[i + 1 : i + 2], ctx, writes=False)
            i += 1
        elif word in _FIND_TESTS_WITH_VALUE or word.startswith("-newer"):
            i += 1
        elif word not in _FIND_FLAGS:
            out += unsafe_options("find", [word])
        i += 1
    return out


_SED = spec(
    "-n|--quiet|--silent -E|-r|--regexp-extended -s|--separate -z|--null-data -u|--unbuffered"
    " --posix --debug --sandbox -l=|--line-length= -e=|--expression= !-f@|--file@"
    " !-i?|--in-place? --follow-symlinks -b|--binary --help --version"
)
# A sed script of addresses with p, d, q, =, l, n, s///[gpiI0-9] only: nothing is written or run.
_SED_ADDRESS = r"(?:\d+|\$|/[^/]*/)(?:[,~](?:\d+|\$|/[^/]*/))?!?"
_SED_SUBST = r"s([^\w\s\\;])(?:(?!\1).|\\.)*\1(?:(?!\1).|\\.)*\1[gpiImM0-9]*"
_SED_COMMAND = re.compile(
    rf"^\s*(?:{_SED_ADDRESS})?\s*(?:[pdqQ=lnNgGhHxD]|{_SED_SUBST}|\{{|\}})?\s*$"
)


def sed(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _SED)
    scripts = parsed.values("--expression")
    files = parsed.operands if scripts else parsed.operands[1:]
    scripts = scripts or parsed.operands[:1]
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in _SED.unsafe]
    out = unsafe_options("sed", bad)
    for script in scripts:
        if not all(_SED_COMMAND.match(part) for part in re.split(r"[;\n]", script)):
            why = f"sed script {script[:60]!r} may write (w), read (r) or execute (e) commands"
            out.append(ask("shell:sed-script", why))
    in_place = parsed.get("--in-place") is not None
    return (
        out
        + path_decisions("sed", files, ctx, writes=in_place)
        + path_decisions("sed", parsed.paths(), ctx, writes=False)
    )


_AWK = spec("-F= -v= -f@ -e= --posix -b -c --traditional -O -S --sandbox", prefix=False)
# What lets an awk program run commands, write or read other files: system, getline (from a
# command or a file), pipes and redirections, any gawk @-directive or indirect call
# (``f = "sys" "tem"; @f("...")`` calls system), and ARGV/ARGC, which name the files it reads.
_AWK_UNSAFE = re.compile(r"system|getline|\||>|fflush|close|ENVIRON|ARGV|ARGC|@")
_AWK_RUNS = re.compile(r"""(?:system|@\s*\w+)\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)""")


def awk(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _AWK)
    out = unsafe_options("awk", parsed.unknown)
    if parsed.get("-f"):
        out.append(ask("shell:interpreter", "awk -f runs a program from a file"))
        files = parsed.operands
    elif parsed.values("-e"):
        files = parsed.operands  # gawk -e/--source: the program is in the option
        for program in parsed.values("-e"):
            out += _awk_program(program, ctx)
    else:
        program = parsed.operands[0] if parsed.operands else ""
        files = parsed.operands[1:]
        out += _awk_program(program, ctx)
    files = [f for f in files if "=" not in f]  # var=value operands are assignments
    return out + path_decisions("awk", files + parsed.paths(), ctx, writes=False)


def _awk_program(program: str, ctx: ShellContext) -> list[Decision]:
    if not _AWK_UNSAFE.search(program):
        return []
    why = f"the awk program {program[:60]!r} runs commands, or reads or writes other files"
    out = [ask("shell:interpreter", why)]
    for command in _AWK_RUNS.findall(program):
        out += ctx.check_script(command.replace('\\"', '"'))
    return out


_DATE = spec(
    "-u|--utc|--universal -R|--rfc-email -I?|--iso-8601? --rfc-3339= -d=|--date= -r@|--reference@"
    " --debug --help --version !-s=|--set= !-f@|--file@"
)


def date(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _DATE)
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in _DATE.unsafe]
    bad += [f"operand {w}" for w in parsed.operands if not w.startswith("+")]  # sets the clock
    return unsafe_options("date", bad) + path_decisions("date", parsed.paths(), ctx, writes=False)


def cd_target(args: list[str]) -> str | None:
    """Where ``cd`` goes: ``None`` for ``cd -`` (unknown); ``~`` for no operand (home)."""
    operands = [a for a in args if a not in ("-L", "-P", "-e", "-@")]
    if not operands:
        return os.path.expanduser("~")
    return None if operands[0] == "-" else operands[0]


def cd(args: list[str], ctx: ShellContext) -> list[Decision]:
    target = cd_target(args)
    if target is None:
        return [ask("shell:cd", "cd - returns to a directory that is not known here")]
    if ctx.workspace is None and target == os.path.expanduser("~"):
        return [ask("shell:cd", "cd without a directory goes to the home directory")]
    return path_decisions("cd", [target], ctx, writes=False)
