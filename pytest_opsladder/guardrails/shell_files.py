"""Programs that change files, disks or the network (ladder level 4): never known-safe.

Each asks at least; the known destructive forms are denied, however their options are
spelled (``--recurs`` is ``--recursive``, ``-t/etc`` is a target directory). Every
path-valued operand and option, glued or not, is checked for workspace escapes, and writing
to a storage device (``tee /dev/sda``, ``of=/dev/nvme0n1``) is denied.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_opsladder.guardrails.shell_context import (
    ShellContext,
    ask,
    deny,
    glued_values,
    not_known_safe,
    path_decisions,
)
from pytest_opsladder.guardrails.shell_options import ParsedArgs, parse_options, spec
from pytest_opsladder.guardrails.verdicts import Decision

FileCheck = Callable[[list[str], ShellContext], list[Decision]]
_H = " --help --version"
_RM = spec(
    "-f|--force -i -I --interactive? --one-file-system --no-preserve-root --preserve-root?"
    " -r|-R|--recursive -d|--dir -v|--verbose" + _H
)


def rm(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _RM)
    forceful = [o.spelled() for o in parsed.options if o.name in _RM_FORCEFUL]
    forceful += [w for w in parsed.unknown if w.startswith("--")]
    out = path_decisions("rm", parsed.operands, ctx)
    if forceful:
        why = f"rm {' '.join(dict.fromkeys(forceful))} deletes without asking or recovery"
        return [deny("shell:rm-recursive-force", why), *out]
    return [ask("shell:delete", "rm deletes files"), *out]


_RM_FORCEFUL = {"--force", "--recursive", "--no-preserve-root"}
_MODE = spec(
    "-R|--recursive -c|--changes -f|--silent|--quiet -v|--verbose --no-preserve-root"
    " --preserve-root --reference@ -h|--no-dereference --dereference -H -L -P --from=" + _H
)
_SYSTEM_ROOTS = ("/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/var", "/home", "/root", "/boot")


def chmod(name: str) -> FileCheck:
    """chmod/chown/chgrp: ask; recursively on a system directory, deny."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        words = [a for a in args if name != "chmod" or not _is_mode(a)]
        parsed = parse_options(words, _MODE)
        out = [ask("shell:permissions", f"{name} changes owners or permissions")]
        recursive = parsed.get("--recursive")
        targets = parsed.operands if parsed.get("--reference") else parsed.operands[1:]
        if recursive and any(t.rstrip("/") in _SYSTEM_ROOTS or t == "/" for t in targets):
            why = f"{name} {recursive.spelled()} on a system directory breaks the machine"
            out.append(deny("shell:permissions-system", why))
        return out + path_decisions(name, targets + parsed.paths(), ctx)

    return check


def _is_mode(arg: str) -> bool:
    """chmod's ``-w``, ``-x`` are modes, not options."""
    return len(arg) > 1 and arg[0] == "-" and set(arg[1:]) <= set("rwxXst") and "-" not in arg[1:]


_COPY = spec(
    "-t@|--target-directory@ -S=|--suffix= -r|-R|--recursive -f|--force -a|--archive -i"
    "|--interactive -n|--no-clobber -u|--update? -v|--verbose -p -l|--link -s|--symbolic-link"
    " -T|--no-target-directory -L|--dereference -P|--no-dereference -H -x|--one-file-system"
    " -b --backup? --preserve? --no-preserve= --parents --reflink? --sparse= --attributes-only"
    " --remove-destination --strip-trailing-slashes --debug -Z --context? -D -d|--directory"
    " -m=|--mode= -o=|--owner= -g=|--group= -C|--compare -c --preserve-timestamps"
    " --strip-program@ -e|--exchange" + _H
)


def copy(name: str) -> FileCheck:
    """cp, mv, install, ln: ask; every operand and -t target is a path."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        parsed = parse_options(args, _COPY)
        sources, targets = _copy_operands(name, parsed)
        paths = targets + parsed.paths() + [w.split("=", 1)[-1] for w in parsed.unknown]
        read = path_decisions(name, sources, ctx, writes=False)
        return [not_known_safe(name), *path_decisions(name, paths, ctx), *read]

    return check


def _copy_operands(name: str, parsed: ParsedArgs) -> tuple[list[str], list[str]]:
    """(what ``cp``/``install`` only read, what they write); ``mv`` and ``ln`` change both."""
    operands = parsed.operands
    if name not in ("cp", "install") or parsed.get("--directory"):
        return [], operands
    if parsed.get("--target-directory") or len(operands) < 2:
        return operands, []
    return operands[:-1], operands[-1:]


_RSYNC_VALUES = {
    "-e", "--rsh", "-f", "--filter", "--exclude", "--include", "--exclude-from",
    "--include-from", "--files-from", "-T", "--temp-dir", "--partial-dir", "--backup-dir",
    "--compare-dest", "--copy-dest", "--link-dest", "--chmod", "--chown", "--usermap",
    "--groupmap", "--timeout", "--contimeout", "--bwlimit", "--max-size", "--min-size",
    "--max-delete", "--port", "--out-format", "--log-file", "--log-file-format",
    "--password-file", "-M", "--remote-option", "--suffix", "--rsync-path", "--iconv",
    "--block-size", "-B", "--modify-window", "--compress-choice", "--checksum-choice",
}  # fmt: skip
_RSYNC_REMOVES = ("--remove-source-files", "--remove-sent-files")


def rsync(args: list[str], ctx: ShellContext) -> list[Decision]:
    """rsync asks; ``--delete`` (and every ``--del*`` form) removes each destination file
    missing from the source and ``--remove-source-files`` the sources: denied like ``rm -r``.
    The destination (last operand) is written, the sources only read; ``host:path`` is remote.
    """
    out = [not_known_safe("rsync")]
    operands: list[str] = []
    i = 0
    while i < len(args):
        word, name = args[i], args[i].split("=", 1)[0]
        if word == "--":
            operands += args[i + 1 :]
            break
        removes = len(name) > 8 and any(n.startswith(name) for n in _RSYNC_REMOVES)
        if name.startswith("--del") or removes:
            out.append(deny("shell:rsync-delete", f"rsync {name} deletes files"))
        if word in _RSYNC_VALUES:
            i += 1
        elif not word.startswith("-"):
            operands.append(word)
        i += 1
    target = operands[-1:] if len(operands) > 1 else []
    sources = operands[:-1] if target else operands
    out += path_decisions("rsync", [p for p in target if not _remote(p)], ctx)
    return out + path_decisions("rsync", [p for p in sources if not _remote(p)], ctx, writes=False)


def _remote(operand: str) -> bool:
    return "://" in operand or ":" in operand.split("/", 1)[0]


def tee(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, spec("-a|--append -i|--ignore-interrupts -p --output-error?" + _H))
    return [ask("shell:writes", "tee writes files"), *path_decisions("tee", parsed.operands, ctx)]


def dd(args: list[str], ctx: ShellContext) -> list[Decision]:
    read = [a.split("=", 1)[1] for a in args if a.startswith("if=")]
    written = [a.split("=", 1)[1] for a in args if "=" in a and not a.startswith("if=")]
    out = path_decisions("dd", written, ctx) + path_decisions("dd", read, ctx, writes=False)
    if any(a.startswith("of=") for a in args):
        return [deny("shell:dd", "dd of=... overwrites a file or device"), *out]
    return [not_known_safe("dd"), *out]


_TAR = spec(
    "-c|--create -x|--extract|--get -t|--list -r|--append -u|--update -A|--catenate"
    " --delete -f@|--file@ -C@|--directory@ -z|--gzip -j|--bzip2 -J|--xz --zstd -a"
    "|--auto-compress -v|--verbose -p|--preserve-permissions -k|--keep-old-files"
    " --overwrite --remove-files --exclude= -T@|--files-from@ -X@|--exclude-from@"
    " --strip-components= --no-same-owner --same-owner -h|--dereference -P|--absolute-names"
    " -O|--to-stdout -I=|--use-compress-program= --to-command= --checkpoint? --checkpoint-action="
    " --warning= -m|--touch -W|--verify --transform= --wildcards --anchored -S|--sparse" + _H
)
_TAR_RUNS = {"--to-command", "--use-compress-program", "--checkpoint-action"}


def tar(args: list[str], ctx: ShellContext) -> list[Decision]:
    if args and not args[0].startswith("-"):
        args = ["-" + args[0], *args[1:]]  # old style: ``tar xvf FILE``
    parsed = parse_options(args, _TAR)
    out = [not_known_safe("tar")]
    for option in parsed.options:
        if option.name in _TAR_RUNS and option.value:
            out.append(ask("shell:tar-runs", f"tar {option.spelled()} runs a command"))
            command = option.value.split("=", 1)[1] if "exec=" in option.value else option.value
            out += ctx.check_script(command)
    if parsed.get("--remove-files", "--delete"):
        out.append(deny("shell:tar-deletes", "tar --remove-files/--delete deletes files"))
    return out + path_decisions("tar", parsed.operands + parsed.paths(), ctx)


_CURL_PATHS = {"-o", "--output", "-T", "--upload-file", "-K", "--config", "-c", "--cookie-jar"}
_CURL_PATHS |= {"-D", "--dump-header", "--trace", "--trace-ascii", "--stderr", "-O"}
_WGET_PATHS = {"-O", "--output-document", "-P", "--directory-prefix", "-o", "--output-file"}
_WGET_PATHS |= {"-i", "--input-file", "--post-file", "--body-file", "-a", "--append-output"}


def fetcher(name: str, path_options: set[str]) -> FileCheck:
    """curl/wget reach the network: ask; ``file://`` URLs and output/upload files are paths."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        values = [a for a in args if a.lower().startswith("file:")]
        for i, arg in enumerate(args[:-1]):
            if arg in path_options:
                values.append(args[i + 1])
            if args[i + 1].startswith("@") or "=@" in args[i + 1]:
                values.append(args[i + 1].split("@", 1)[1])  # -d @file, -F f=@file upload it
        values += [a[2:] for a in args if a[:2] in path_options and len(a) > 2]
        values += [a.split("=", 1)[1] for a in args if "=" in a and a.split("=")[0] in path_options]
        why = f"{name} reaches the network"
        out = [ask("shell:network", why), *path_decisions(name, values, ctx)]
        method = _http_method(name, args)
        if method == "DELETE":
            why = f"{name} sends an HTTP DELETE: it deletes the remote resource"
            out.append(deny("shell:http-delete", why))
        return out

    return check


_CURL_VALUES = set("AbcCdDeEFHKmoPQrTuUwxyYz")


def _curl_cluster_method(arg: str, following: str) -> str | None:
    """``-X DELETE``, ``-XDELETE``, ``-sSX DELETE``: flags cluster; a value ends the cluster."""
    for index, char in enumerate(arg[1:], start=2):
        if char == "X":
            return (arg[index:] or following).upper()
        if char in _CURL_VALUES:
            return None
    return None


def _http_method(name: str, args: list[str]) -> str | None:
    """The method of ``curl -X M`` / ``--request M`` / ``-XM``, ``wget --method=M`` (any
    unique prefix, as getopt takes it), ``http M URL`` (httpie); upper-cased."""
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else ""
        key, eq, value = arg.partition("=")
        if name == "curl" and arg[:1] == "-" and arg[:2] != "--":
            method = _curl_cluster_method(arg, following)
            if method is not None:
                return method
        if name == "curl" and key == "--request":
            return (value if eq else following).upper()
        if name == "wget" and len(key) > 4 and "--method".startswith(key):
            return (value if eq else following).upper()
    if name in ("http", "https", "xh", "xhs"):
        words = [a for a in args if not a.startswith("-")]
        return words[0].upper() if words else None
    return None


def fixed(rule: str, why: str, *, destructive: bool) -> FileCheck:
    """A program whose every use is destructive (deny) or changes something (ask)."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        found = deny(rule, why) if destructive else ask(rule, why)
        return [found, *path_decisions(rule.split(":")[-1], glued_values(args), ctx)]

    return check


def _disk(why: str) -> FileCheck:
    return fixed("shell:disk", why, destructive=True)


FILE_PROGRAMS: dict[str, FileCheck] = {
    "rm": rm,
    "dd": dd,
    "tee": tee,
    "rsync": rsync,
    "tar": tar,
    "chmod": chmod("chmod"),
    "chown": chmod("chown"),
    "chgrp": chmod("chgrp"),
    "cp": copy("cp"),
    "mv": copy("mv"),
    "install": copy("install"),
    "ln": copy("ln"),
    "curl": fetcher("curl", _CURL_PATHS),
    "wget": fetcher("wget", _WGET_PATHS),
    "http": fetcher("http", {"-o", "--output", "--download", "-d"}),
    "https": fetcher("https", {"-o", "--output", "--download", "-d"}),
    "xh": fetcher("xh", {"-o", "--output", "--download", "-d"}),
    "shred": fixed("shell:shred", "shred destroys file contents", destructive=True),
    "wipefs": _disk("wipefs erases filesystem signatures"),
    "mkfs": _disk("mkfs formats a device"),
    "mke2fs": _disk("mke2fs formats a device"),
    "mkswap": _disk("mkswap formats a device"),
    "mkdosfs": _disk("mkdosfs formats a device"),
    "mkntfs": _disk("mkntfs formats a device"),
    "mke2fs.ext4": _disk("mke2fs formats a device"),
    "blkdiscard": _disk("blkdiscard discards every block of a device"),
    "fdisk": _disk("fdisk rewrites partition tables"),
    "sfdisk": _disk("sfdisk rewrites partition tables"),
    "gdisk": _disk("gdisk rewrites partition tables"),
    "sgdisk": _disk("sgdisk rewrites partition tables"),
    "parted": _disk("parted rewrites partition tables"),
    "cryptsetup": _disk("cryptsetup can erase encryption keys of a device"),
    "hdparm": _disk("hdparm can erase a drive"),
    "shutdown": fixed("shell:system", "stops the machine", destructive=True),
    "reboot": fixed("shell:system", "restarts the machine", destructive=True),
    "halt": fixed("shell:system", "stops the machine", destructive=True),
    "poweroff": fixed("shell:system", "stops the machine", destructive=True),
    "init": fixed("shell:system", "changes the machine's run level", destructive=True),
    "telinit": fixed("shell:system", "changes the machine's run level", destructive=True),
    "dropdb": fixed("sql:drop", "dropdb drops a whole database", destructive=True),
    "dropuser": fixed("sql:drop", "dropuser drops a database role", destructive=True),
    "unlink": fixed("shell:delete", "unlink deletes a file", destructive=False),
    "rmdir": fixed("shell:delete", "rmdir deletes a directory", destructive=False),
    "truncate": fixed("shell:delete", "truncate discards file contents", destructive=False),
}


def file_program(name: str) -> FileCheck | None:
    """The check for ``name``, ``mkfs.ext4`` and ``mkfs.vfat`` included."""
    return FILE_PROGRAMS.get(name) or FILE_PROGRAMS.get(name.split(".", 1)[0])
