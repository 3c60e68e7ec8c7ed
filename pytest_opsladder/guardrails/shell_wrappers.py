"""Commands that run other commands (ladder level 4): unwrapped, or escalated to ask.

A wrapper's own options are skipped as the wrapper parses them and what it runs is checked
like any command, so ``sudo timeout 5 nice sh -c 'rm -rf x'`` is denied. Transparent wrappers
(``timeout``, ``nice``, ``nohup``, ``time`` ...) are as safe as what they run; the others
(``sudo``, ``su -c``, ``fakeroot``, ``script -c``, ``xargs``, ``ssh`` ...) ask even when what
they run is harmless, because they change who runs it, where, or with which arguments.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from pytest_opsladder.guardrails.shell_context import (
    DYNAMIC,
    ShellContext,
    ask,
    mass_delete,
    not_known_safe,
    path_decisions,
    unsafe_options,
)
from pytest_opsladder.guardrails.shell_options import Option, ParsedArgs, parse_options, spec
from pytest_opsladder.guardrails.verdicts import Decision

Check = Callable[[list[str], ShellContext], list[Decision]]
Skip = Callable[[list[str]], int]


def skip_options(args: list[str], with_value: set[str], stop_after: int = 0) -> int:
    """Index of the first word after the leading options (values of ``with_value`` skipped)."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        if args[i] == "--":
            return i + 1
        word = args[i]
        takes = word in with_value or (word[:2] in with_value and len(word) == 2)
        i += 2 if takes and "=" not in word else 1
    return i + stop_after


def _opts(*names: str, then: int = 0) -> Skip:
    values = set(names)
    return lambda args: skip_options(args, values, then)


def wrapper(skip: Skip, why: str | None = None) -> Check:
    """Runs the rest of its words as a command: check that command (and ask when ``why``)."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        out = [ask("shell:wrapper", why)] if why else []
        inner = args[skip(args) :]
        return out + ctx.check_argv(inner)

    return check


_TIME = spec(
    "-o@|--output@ -a|--append -f=|--format= -p|--portability -v|--verbose -q|--quiet"
    " -V|--version --help",
    permute=False,
)


def time_(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``time CMD`` is as safe as CMD; GNU ``time -o FILE`` also overwrites FILE (``-a``
    appends to it), so it asks, and FILE may not leave the workspace."""
    parsed = parse_options(args, _TIME)
    out = [ask("shell:writes", f"time {o.spelled()} writes {o.value!r}") for o in _outputs(parsed)]
    out += unsafe_options("time", parsed.unknown)
    out += path_decisions("time", parsed.paths(), ctx, writes=True)
    return out + ctx.check_argv(parsed.operands)


def _outputs(parsed: ParsedArgs) -> list[Option]:
    return [o for o in parsed.options if o.name == "--output"]


_IONICE = spec(
    "-c=|--class= -n=|--classdata= -p=|--pid= -P=|--pgid= -u=|--uid= -t|--ignore -h|--help"
    " -V|--version",
    permute=False,
)


def ionice(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``ionice -c3 CMD`` runs CMD; ``ionice -p PID`` changes a running process: asks."""
    parsed = parse_options(args, _IONICE)
    out = unsafe_options("ionice", parsed.unknown)
    targets = [o.spelled() for o in parsed.options if o.name in ("--pid", "--pgid", "--uid")]
    if targets:
        out.append(ask("shell:processes", f"ionice {targets[0]} changes running processes"))
    return out + ctx.check_argv(parsed.operands)


def shell_c_script(args: list[str]) -> str | None:
    """The script of ``sh -c SCRIPT`` (``-c`` may be combined: ``-lc``, ``-ec``), or None."""
    for index, arg in enumerate(args):
        if not arg.startswith("-") or arg == "--":
            return None
        if arg in ("-o", "+o", "-O", "+O"):
            continue
        if not arg.startswith("--") and "c" in arg[1:]:
            return args[index + 1] if index + 1 < len(args) else ""
    return None


def shell(args: list[str], ctx: ShellContext) -> list[Decision]:
    script = shell_c_script(args)
    if script is not None:
        return ctx.check_script(script)
    why = "a shell without -c runs a script file or reads commands from its input"
    out = [ask("shell:interpreter", why)]
    if _reads_stdin(args) and ctx.stdin.text is not None:
        out += ctx.check_script(ctx.stdin.text)  # ``bash <<EOF``, ``echo CMD | sh``
    return out


def _reads_stdin(args: list[str]) -> bool:
    """``sh``, ``sh -s ARGS``, ``sh -e``: commands come from standard input, not a file."""
    i = 0
    while i < len(args) and args[i][:1] in ("-", "+") and args[i] != "--":
        if "s" in args[i][1:] and not args[i].startswith("--"):
            return True
        i += 2 if args[i] in ("-o", "+o", "-O", "+O") else 1
    return i >= len(args) or (args[i] == "--" and i + 1 >= len(args))


def script_option(name: str, options: tuple[str, ...], why: str) -> Check:
    """``su -c CMD``, ``script -c CMD``, ``runuser -c CMD``: ask, and check CMD as shell text."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        out = [ask("shell:wrapper", why)]
        for i, arg in enumerate(args):
            value = _option_value(arg, args[i + 1 : i + 2], options)
            if value is not None:
                out += ctx.check_script(value)
        if "--" in args and name == "runuser":
            out += ctx.check_argv(args[args.index("--") + 1 :])
        if name == "script":  # the typescript and log files it writes
            parsed = parse_options(args, _SCRIPT)
            out += path_decisions("script", parsed.operands[:1] + parsed.paths(), ctx)
        return out

    return check


_SCRIPT = spec(
    "-a|--append -c=|--command= -e|--return -f|--flush -E=|--echo= -I@|--log-in@"
    " -O@|--log-out@ -B@|--log-io@ -T@|--log-timing@ -m=|--logging-format="
    " -o=|--output-limit= -q|--quiet -t?|--timing? -V|--version -h|--help"
)


def _option_value(arg: str, following: list[str], options: tuple[str, ...]) -> str | None:
    """The value of one of ``options`` in ``arg``, as getopt reads it, or None.

    A short option may end a cluster (``script -qc CMD``) or glue its value (``-cCMD``,
    ``-qcCMD``); a long one may be a unique prefix (``--comm CMD``).
    """
    for option in options:
        if arg == option:
            return following[0] if following else ""
        if option.startswith("--") and arg.startswith(option + "="):
            return arg.split("=", 1)[1]
        if option.startswith("--") and len(arg) > 3 and option.startswith(arg) and following:
            return following[0]  # GNU unique prefix: --comm CMD
        if not option.startswith("--") and arg[:1] == "-" and option[1] in arg[1:]:
            if arg.startswith("--"):
                continue
            rest = arg[arg.index(option[1], 1) + 1 :]
            return rest or (following[0] if following else "")
    return None


_ENV = spec(
    "-i|--ignore-environment -0|--null -u=|--unset= -C@|--chdir@ -S=|--split-string="
    " --block-signal? --default-signal? --ignore-signal? --list-signal-handling -v|--debug"
    " --help --version",
    permute=False,
)


def env(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``env [-i] [NAME=VALUE]... CMD``; ``env -S 'CMD ARGS'`` splits a string into CMD."""
    parsed = parse_options(args, _ENV)
    rest = parsed.operands[1:] if parsed.operands[:1] == ["-"] else parsed.operands
    assigns: list[str] = []
    while rest and "=" in rest[0] and not rest[0].startswith("="):
        assigns.append(rest.pop(0).split("=", 1)[0])
    split = parsed.values("--split-string")
    if split or parsed.get("--chdir"):
        assigns.append("(a split string or directory)")
    out = []
    if assigns:
        why = f"env sets {', '.join(assigns)}, which can change what the command does"
        out.append(ask("shell:env", why))
    if split:  # the string is split into words much as a shell would: check it as shell text
        return out + ctx.check_script(" ".join([*split, *map(shlex.quote, rest)]))
    return out + ctx.check_argv(rest)


_XARGS = spec(
    "-0|--null -a@|--arg-file@ -d=|--delimiter= -E= -e?|--eof? -I= -i?|--replace? -L="
    "|--max-lines= -l? -n=|--max-args= -P=|--max-procs= -o|--open-tty -p|--interactive"
    " --process-slot-var= -r|--no-run-if-empty -s=|--max-chars= --show-limits -t|--verbose"
    " -x|--exit --help --version",
    permute=False,
)


def xargs(args: list[str], ctx: ShellContext) -> list[Decision]:
    inner = parse_options(args, _XARGS).operands or ["echo"]
    why = "xargs appends arguments read from its input, unknown before it runs"
    found = ctx.check_argv(inner)
    return [ask("shell:xargs", why), *found, *mass_delete("xargs", found, "shell:mass-delete")]


_WATCH = spec(
    "-n=|--interval= -d?|--differences? -t|--no-title -b|--beep -e|--errexit -g|--chgexit"
    " -c|--color -C|--no-color -x|--exec -p|--precise -w|--no-wrap -q=|--equexit="
    " -r|--no-rerun -s=|--shotsdir= -h|--help -v|--version",
    permute=False,
)


def watch(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``watch CMD ARGS`` runs ``sh -c 'CMD ARGS'`` (the words joined); ``-x`` runs them as is."""
    parsed = parse_options(args, _WATCH)
    out = [ask("shell:wrapper", "watch repeats a command")]
    if parsed.get("--exec"):
        return out + ctx.check_argv(parsed.operands)
    return out + ctx.check_script(" ".join(parsed.operands))


def eval_(args: list[str], ctx: ShellContext) -> list[Decision]:
    return [
        ask("shell:eval", "eval builds the command at run time"),
        *ctx.check_script(" ".join(args)),
    ]


def command(args: list[str], ctx: ShellContext) -> list[Decision]:
    if args and args[0] in ("-v", "-V"):
        return []  # ``command -v NAME`` only looks a name up
    return ctx.check_argv(args[skip_options(args, set()) :])


def remote(name: str) -> Check:
    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        values = {"-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-b", "-c", "-E", "-e"}
        rest = args[skip_options(args, values) :]
        out = [ask("shell:remote", f"{name} runs commands on another host")]
        return out + (ctx.check_script(" ".join(rest[1:])) if len(rest) > 1 else [])

    return check


def _coproc_skip(args: list[str]) -> int:
    """``coproc [NAME] { ...; }``: the parser leaves the brace as a word; skip NAME and it."""
    if len(args) > 1 and args[0].isidentifier() and args[1] in (DYNAMIC, "{"):
        return 2
    return 1 if args[:1] in ([DYNAMIC], ["{"]) else 0


def flock(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``flock LOCK CMD...`` runs CMD; ``flock -c SCRIPT LOCK`` runs SCRIPT through a shell."""
    if any(a in ("-c", "--command") or a.startswith("--command=") for a in args):
        return script_option("flock", ("-c", "--command"), "flock runs a command under a lock")(
            args, ctx
        )
    return wrapper(_opts("-w", "-E", "--timeout", then=1), "flock runs a command under a lock")(
        args, ctx
    )


def _state(name: str) -> Check:
    why = f"{name} changes how later commands run, or runs a file"
    return lambda args, ctx: [ask("shell:state", why)]


def _unknown_runner(name: str) -> Check:
    """A program that runs a command we cannot locate exactly: ask, and check every tail.

    A word with a space may be a command string it hands to a shell (``parallel 'rm -rf {}'
    ::: /``): its denials stand too.
    """

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        out = [not_known_safe(name)]
        for start in range(len(args)):
            if not args[start].startswith("-"):
                found = ctx.check_argv(args[start:])
                out += [d for d in found if d.verdict.value == "deny"]
                out += mass_delete(name, found, "shell:mass-delete")
                break
        for word in [a for a in args if " " in a][:3]:
            out += [d for d in ctx.check_script(word) if d.verdict.value == "deny"]
        return out

    return check


_SUDO = _opts("-u", "-g", "-C", "-h", "-p", "-U", "-r", "-t", "-D", "-T", "--user", "--group")
WRAPPERS: dict[str, Check] = {
    "timeout": wrapper(_opts("-s", "-k", "--signal", "--kill-after", then=1)),
    "nice": wrapper(_opts("-n", "--adjustment")),
    "ionice": ionice,
    "nohup": wrapper(lambda a: 1 if a[:1] == ["--"] else 0),
    "setsid": wrapper(_opts()),
    "stdbuf": wrapper(_opts("-i", "-o", "-e")),
    "time": time_,
    "builtin": wrapper(lambda a: 0),
    "exec": wrapper(_opts("-a")),
    "command": command,
    "env": env,
    "xargs": xargs,
    "eval": eval_,
    "sudo": wrapper(_SUDO, "sudo runs as another user"),
    "doas": wrapper(_opts("-u", "-C"), "doas runs as another user"),
    "fakeroot": wrapper(
        _opts("-l", "-s", "-i", "--lib", "--faked"), "'fakeroot' is not a known-safe program"
    ),
    "coproc": wrapper(_coproc_skip, "coproc runs a command in the background"),
    "watch": watch,
    "chroot": wrapper(_opts("--userspec", "--groups", then=1), "chroot changes the root directory"),
    "unshare": wrapper(
        _opts("-S", "-G", "--setuid", "--setgid", "-R", "-w"), "unshare changes namespaces"
    ),
    "nsenter": wrapper(_opts("-t", "--target", "-S", "-G"), "nsenter enters other namespaces"),
    "flock": flock,
    "chrt": wrapper(_opts("-p", then=1), "chrt changes scheduling"),
    "taskset": wrapper(_opts("-p", then=1), "taskset pins a command to CPUs"),
    "strace": wrapper(_opts("-e", "-o", "-p", "-s", "-u", "-E"), "strace traces a command"),
    "ltrace": wrapper(_opts("-e", "-o", "-p", "-s", "-u"), "ltrace traces a command"),
    "valgrind": wrapper(_opts(), "valgrind runs a command"),
    "firejail": wrapper(_opts(), "firejail runs a command in a sandbox it configures"),
    "systemd-run": wrapper(
        _opts("-u", "--unit", "-p", "--property", "-E"), "systemd-run starts a unit"
    ),
    "busybox": wrapper(lambda a: 0),
    "su": script_option("su", ("-c", "--command", "--session-command"), "su runs as another user"),
    "runuser": script_option("runuser", ("-c", "--command"), "runuser runs as another user"),
    "script": script_option("script", ("-c", "--command"), "script records a session to a file"),
    "ssh": remote("ssh"),
    "parallel": _unknown_runner("parallel"),
}
for _shell in ("sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "csh", "tcsh"):
    WRAPPERS[_shell] = shell
for _name in ("source", ".", "alias", "unalias", "set", "shopt", "trap", "enable", "hash"):
    WRAPPERS[_name] = _state(_name)
UNKNOWN_RUNNER = _unknown_runner
