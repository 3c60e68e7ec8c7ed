"""Remote code (ladder level 4): fetched content run as code is a known destructive form.

``curl URL | sh``, ``wget -O- URL | sudo bash -s``, ``bash <(curl URL)``,
``sh -c "$(curl URL)"``, ``python -c "$(curl URL)"``, ``source <(curl URL)``,
``eval "$(wget -qO- URL)"``: whatever the server sends runs, unseen. The form is recognised
on the parsed command line (a pipe, a command or process substitution) whatever the fetcher's
options or the wrappers in front of the interpreter, and denied with the form named.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence

# Programs that write what they download to standard output (``-O-``, ``-s``, or by default).
FETCHERS = frozenset(
    {"curl", "wget", "fetch", "http", "https", "xh", "aria2c", "lwp-request", "GET"}
)
FETCHERS |= {"nc", "ncat", "socat", "ftp", "tftp", "scp", "ssh"}
# Programs that run code read from standard input, a file argument or an argument.
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh"})
INTERPRETERS = SHELLS | {
    "python", "python2", "python3", "perl", "ruby", "node", "nodejs", "deno", "bun", "php",
    "lua", "tclsh", "Rscript", "pwsh", "powershell", "osascript", "eval", "source", ".",
}  # fmt: skip
# Words in front of a command that run the rest of the line as the command.
WRAPPERS = frozenset({
    "sudo", "doas", "env", "nice", "nohup", "timeout", "ionice", "chrt", "taskset", "stdbuf",
    "setsid", "time", "command", "builtin", "exec", "xargs", "su", "runuser", "busybox",
    "flock", "watch", "unbuffer", "strace", "ltrace", "chroot", "fakeroot", "proot",
})  # fmt: skip


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Per wrapper: its options that take the next word as their value, and how many operands it
# reads before the command (``timeout 5 CMD``, ``flock LOCK CMD``, ``chroot DIR CMD``).
_UNWRAP: dict[str, tuple[frozenset[str], int]] = {
    "sudo": (_names("-u -g -C -h -p -U -r -t -D -T --user --group --host --prompt"), 0),
    "doas": (frozenset({"-u", "-C"}), 0),
    "env": (frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}), 0),
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "timeout": (frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "ionice": (_names("-c -n -p -P -u --class --classdata --pid --pgid --uid"), 0),
    "chrt": (frozenset({"-p"}), 1),
    "taskset": (frozenset({"-p"}), 1),
    "stdbuf": (frozenset({"-i", "-o", "-e"}), 0),
    "time": (frozenset({"-o", "-f", "--output", "--format"}), 0),
    "exec": (frozenset({"-a"}), 0),
    "xargs": (_names("-a -d -E -I -L -n -P -s --arg-file --delimiter"), 0),
    "flock": (frozenset({"-w", "-E", "--timeout", "--conflict-exit-code"}), 1),
    "watch": (frozenset({"-n", "--interval", "-q", "--equexit", "-s", "--shotsdir"}), 0),
    "strace": (frozenset({"-e", "-o", "-p", "-s", "-u", "-E"}), 0),
    "ltrace": (frozenset({"-e", "-o", "-p", "-s", "-u"}), 0),
    "chroot": (frozenset({"--userspec", "--groups"}), 1),
    "fakeroot": (frozenset({"-l", "-s", "-i", "--lib", "--faked"}), 0),
}
# Options whose value is a command line the wrapper runs (through a shell, or split).
_SCRIPT_OPTIONS: dict[str, frozenset[str]] = {
    "su": frozenset({"-c", "--command", "--session-command"}),
    "runuser": frozenset({"-c", "--command"}),
    "flock": frozenset({"-c", "--command"}),
    "env": frozenset({"-S", "--split-string"}),
}
# Wrappers that start a shell when given no command: it reads its script from standard input.
_SHELL_WHEN_BARE = {"sudo": frozenset({"-s", "-i", "--shell", "--login"})}


def program(argv: Sequence[str]) -> str | None:
    """The program a command line runs, past its wrappers (``sudo -u x``, ``timeout -s KILL
    5``, ``env A=1``), each read with its own options and operands. ``sudo -s``, ``su`` and
    ``runuser`` without a command start a shell; ``su -c 'CMD'`` runs CMD."""
    words = list(argv)
    for _ in range(16):  # wrappers nest (sudo timeout 5 nice CMD); a line is never this deep
        if not words:
            return None
        name = os.path.basename(words[0])
        if name not in WRAPPERS:
            return name
        words = _unwrapped(name, words[1:])
    return None


def _unwrapped(name: str, args: list[str]) -> list[str]:
    """The command line ``name ARGS`` runs (a bare ``sudo -s`` or ``su`` runs ``sh``)."""
    values, operands = _UNWRAP.get(name, (frozenset(), 0))
    scripts = _SCRIPT_OPTIONS.get(name, frozenset())
    i, flags, script = 0, set(), None
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        if args[i] == "--":
            i += 1
            break
        option, takes = _option(args[i], values | scripts)
        flags.add(option)
        if takes and option in scripts:
            script = args[i + 1] if i + 1 < len(args) else ""
        i += 2 if takes else 1
    rest = args[i:]
    while name in ("env", "sudo") and rest and "=" in rest[0] and not rest[0].startswith("="):
        rest = rest[1:]  # NAME=VALUE assignments
    if script is not None:
        return shlex.split(script) if _splits(script) else ["sh"]
    rest = rest[operands:] if name not in ("su", "runuser") else []
    bare = name in ("su", "runuser") or bool(_SHELL_WHEN_BARE.get(name, frozenset()) & flags)
    return rest or (["sh"] if bare else [])


def _option(word: str, values: frozenset[str]) -> tuple[str, bool]:
    """(the option's name, whether the next word is its value): ``--user=x`` and ``-u0``
    carry their value; in a cluster (``-Hu root``) the last letter may take one."""
    if word.startswith("--"):
        name = word.split("=", 1)[0]
        return name, name in values and "=" not in word
    last = f"-{word[-1]}"
    if len(word) == 2 or (last in values and word[1:-1].isalpha()):
        return last, last in values
    return word[:2], False


def _splits(script: str) -> bool:
    try:
        return bool(shlex.split(script))
    except ValueError:
        return False


def runs_code(argv: Sequence[str]) -> bool:
    return program(argv) in INTERPRETERS


def fetches(argv: Sequence[str]) -> bool:
    return program(argv) in FETCHERS


def piped(fetcher: Sequence[str], reader: Sequence[str]) -> str | None:
    """The reason ``FETCHER | READER`` is remote code, or None."""
    if not fetches(fetcher) or not runs_code(reader):
        return None
    return (
        f"what {program(fetcher)} downloads is piped into {program(reader)} and"
        " runs unseen; download to a file, read it, then run it"
    )


def substituted(reader: Sequence[str], fetchers: list[str]) -> str | None:
    """The reason a substitution holding a download, used by an interpreter, is remote code."""
    if not fetchers or not runs_code(reader):
        return None
    return (
        f"what {fetchers[0]} downloads is run by {program(reader)} through a"
        " command or process substitution, unseen; download to a file, read it, then run it"
    )
