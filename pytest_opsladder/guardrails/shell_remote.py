"""Remote code (ladder level 4): fetched content run as code is a known destructive form.

``curl URL | sh``, ``wget -O- URL | sudo bash -s``, ``bash <(curl URL)``,
``sh -c "$(curl URL)"``, ``python -c "$(curl URL)"``, ``source <(curl URL)``,
``eval "$(wget -qO- URL)"``: whatever the server sends runs, unseen. The form is recognised
on the parsed command line (a pipe, a command or process substitution) whatever the fetcher's
options or the wrappers in front of the interpreter, and denied with the form named.
"""

from __future__ import annotations

import os
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


def program(argv: Sequence[str]) -> str | None:
    """The program a command line runs, past its wrappers (``sudo -u x``, ``timeout -s KILL
    5``, ``env A=1``): behind a wrapper, the first word naming an interpreter or a fetcher
    (the wrappers' option values are not known here, so a value is never taken for it)."""
    if not argv:
        return None
    name = os.path.basename(argv[0])
    if name not in WRAPPERS:
        return name
    wanted = INTERPRETERS | FETCHERS
    return next((os.path.basename(w) for w in argv[1:] if os.path.basename(w) in wanted), None)


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
