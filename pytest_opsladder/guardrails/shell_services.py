"""Services, processes, schedules, packages and data stores (ladder level 4).

``systemctl``/``service``, ``crontab``, ``kill``/``pkill``/``killall``, ``npm``/``pnpm``/
``yarn``, ``redis-cli`` and ``mongo``/``mongosh`` each have a few read-only forms (allowed),
a few forms that destroy (denied: stopping or masking a service, removing every cron job,
signalling every process or every process of a name, unpublishing a package, flushing a
Redis database, dropping a MongoDB database or collection) and the rest, which asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pytest_opsladder.guardrails.shell_context import (
    NOT_KNOWN_SAFE,
    ShellContext,
    ask,
    deny,
    unsafe_options,
)
from pytest_opsladder.guardrails.shell_options import parse_options, spec
from pytest_opsladder.guardrails.shell_runtimes import version_only
from pytest_opsladder.guardrails.verdicts import Decision

Check = Callable[[list[str], ShellContext], list[Decision]]


def _asks(name: str, what: str) -> list[Decision]:
    why = f"{name} {what} is not a known read-only form: it may change things"
    return [ask(NOT_KNOWN_SAFE, why)]


# --- systemctl, service ------------------------------------------------------------------
_SYSTEMCTL = spec(
    "--user --system --no-pager -l|--full -a|--all --failed -t=|--type= --state="
    " -p=|--property= -P= --value -n=|--lines= -o=|--output= --plain --no-legend -q|--quiet"
    " --now --no-block -f|--force --runtime --global -r|--recursive --reverse --after --before"
    " --version -h|--help !-H=|--host= !-M=|--machine= !--root@ !--image@",
    prefix=True,
)
_SYSTEMCTL_READS = {
    "status", "show", "cat", "list-units", "list-unit-files", "list-timers", "list-sockets",
    "list-dependencies", "list-jobs", "list-machines", "is-active", "is-enabled", "is-failed",
    "is-system-running", "get-default", "help",
}  # fmt: skip
_SYSTEMCTL_STOPS = {
    "stop", "disable", "mask", "kill", "isolate", "poweroff", "reboot", "halt", "suspend",
    "hibernate", "hybrid-sleep", "rescue", "emergency", "kexec", "soft-reboot", "exit",
}  # fmt: skip


def systemctl(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _SYSTEMCTL)
    verb = parsed.operands[0] if parsed.operands else "list-units"
    if verb in _SYSTEMCTL_STOPS:
        return [deny("shell:service-stop", f"systemctl {verb} stops or disables services")]
    if verb not in _SYSTEMCTL_READS:
        return _asks("systemctl", verb)
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in _SYSTEMCTL.unsafe]
    return unsafe_options("systemctl", bad)


def service(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``service NAME ACTION``; ``service --status-all``."""
    if args in (["--status-all"], ["--help"], ["--version"]):
        return []
    action = args[1] if len(args) > 1 else ""
    if action == "stop":
        return [deny("shell:service-stop", f"service {args[0]} stop stops the service")]
    if action == "status" and len(args) == 2:
        return []
    return _asks("service", action or "(no action)")


# --- crontab -----------------------------------------------------------------------------
def crontab(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``crontab -l`` reads; ``-r`` removes every job (no undo); a file or ``-e`` replaces."""
    flags = "".join(a[1:] for a in args if a[:1] == "-" and a[:2] != "--")
    if "r" in flags:
        return [deny("shell:crontab-remove", "crontab -r removes every cron job, with no undo")]
    if args == ["-l"]:
        return []
    return _asks("crontab", " ".join(args) or "(reads a crontab from its input)")


# --- kill, pkill, killall ----------------------------------------------------------------
def kill(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``kill -9 -1`` (or ``kill -- -1``) signals every process the user may signal."""
    if args[:1] in (["-l"], ["-L"], ["--list"], ["--help"]):
        return []
    i = 0
    if args[:1] in (["-s"], ["-n"], ["--signal"]):
        i = 2
    elif args[:1] and args[0].startswith("-") and args[0] != "--":
        i = 1  # -9, -KILL, -SIGTERM: the signal
    pids = [a for a in args[i:] if a != "--"]
    if "-1" in pids:
        return [deny("shell:kill-all", "kill -1 signals every process (the agent's own too)")]
    return [ask("shell:processes", "kill signals a running process")]


def kill_by_name(name: str) -> Check:
    """``pkill PATTERN`` and ``killall NAME`` signal every process that matches."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        if args and all(a in ("-l", "--list", "-V", "--version", "--help") for a in args):
            return []
        why = f"{name} signals every process whose name matches, wherever it runs"
        return [deny("shell:kill-all", why)]

    return check


# --- npm, pnpm, yarn ---------------------------------------------------------------------
_NPM_LS = spec(
    "--depth= -a|--all --json -l|--long -p|--parseable --prod --production --dev -g|--global"
    " --omit= --include= --link --unicode --workspaces --workspace= -w= --package-lock-only",
    prefix=False,
)


def package_manager(name: str) -> Check:
    version = version_only(name)

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        sub = args[0] if args else ""
        if sub == "unpublish":
            why = f"{name} unpublish removes a published version everyone may depend on"
            return [deny("shell:unpublish", why)]
        if sub in ("ls", "list", "ll", "la") and name != "yarn":
            parsed = parse_options(args[1:], _NPM_LS)
            return unsafe_options(name, parsed.unknown)
        return version(args, ctx)

    return check


# --- redis-cli ---------------------------------------------------------------------------
_REDIS = spec(
    "-h= -p= -s= -a= --user= --pass= -u= -n= -t= -c -3 -2 -e --raw --no-raw --csv --json"
    " --quoted-json --show-pushes= --no-auth-warning --tls --sni= --cacert@ --cacertdir@"
    " --insecure --cert@ --key@ --verbose --version --help --scan --pattern= --count= -i="
    " --bigkeys --memkeys --memkeys-samples= --hotkeys --stat --latency --latency-history"
    " --latency-dist --intrinsic-latency= --quoted-pattern= !-x !-X= !-r= !-d= !-D= !--eval@"
    " !--ldb !--ldb-sync-mode !--pipe !--pipe-timeout= !--rdb@ !--functions-rdb@ !--replica"
    " !--cluster= !--askpass",
    prefix=False,
    permute=False,
)
_REDIS_READS = {
    "PING", "INFO", "GET", "MGET", "EXISTS", "TTL", "PTTL", "TYPE", "STRLEN", "HGET", "HMGET",
    "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "LLEN", "LRANGE", "LINDEX", "SCARD",
    "SMEMBERS", "SISMEMBER", "ZCARD", "ZRANGE", "ZSCORE", "ZCOUNT", "ZRANK", "SCAN", "HSCAN",
    "SSCAN", "ZSCAN", "DBSIZE", "TIME", "LASTSAVE", "ECHO", "XLEN", "XRANGE", "XINFO",
    "GETRANGE", "BITCOUNT", "PFCOUNT", "OBJECT", "MEMORY", "ROLE", "CLUSTER",
}  # fmt: skip
_REDIS_DESTROYS = {"FLUSHALL", "FLUSHDB", "SHUTDOWN"}


def redis_cli(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``redis-cli [options] COMMAND ARGS``: no command is an interactive session (asks)."""
    parsed = parse_options(args, _REDIS)
    words = [w.upper() for w in parsed.operands]
    found = next((w for w in words if w in _REDIS_DESTROYS), None)
    if found is not None and (words[0] == found or parsed.get("--cluster")):
        return [deny("sql:drop", f"redis-cli {found} deletes every key or stops the server")]
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in _REDIS.unsafe]
    if not words:
        modes = {"--scan", "--bigkeys", "--memkeys", "--hotkeys", "--stat", "--latency"}
        if any(o.name in modes | {"--version", "--help"} for o in parsed.options):
            return unsafe_options("redis-cli", bad)
        return _asks("redis-cli", "without a command (an interactive session)")
    needs_sub = words[0] in ("CLUSTER", "OBJECT", "MEMORY") and len(words) < 2
    if words[0] not in _REDIS_READS or needs_sub:
        return _asks("redis-cli", words[0])
    if words[0] == "CLUSTER" and words[1] not in ("INFO", "NODES", "SLOTS", "SHARDS", "MYID"):
        return _asks("redis-cli", "CLUSTER " + words[1])
    return unsafe_options("redis-cli", bad)


# --- mongo, mongosh ----------------------------------------------------------------------
# JavaScript the shell evaluates: what drops a database, a collection, users, or every
# document (an empty filter) is denied; anything else it evaluates asks.
_MONGO_DESTROYS = re.compile(
    r"\.\s*(?:dropDatabase|drop|dropUser|dropAllUsers|dropRole|dropAllRoles|dropIndexes)\s*\("
    r"|\.\s*(?:deleteMany|remove)\s*\(\s*(?:\{\s*\})?\s*[,)]"
    r"|\b(?:dropDatabase|drop)\s*:\s*"
)


def mongo(name: str) -> Check:
    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        if args in (["--version"], ["--help"]):
            return []
        scripts = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--eval"]
        scripts += [a.split("=", 1)[1] for a in args if a.startswith("--eval=")]
        for script in scripts:
            found = _MONGO_DESTROYS.search(script)
            if found:
                why = f"{name} --eval {found.group(0).strip()!r} drops or empties data"
                return [deny("sql:drop", why)]
        return [ask("shell:interpreter", f"{name} evaluates JavaScript against a database")]

    return check


SERVICES: dict[str, Check] = {
    "systemctl": systemctl,
    "service": service,
    "crontab": crontab,
    "kill": kill,
    "pkill": kill_by_name("pkill"),
    "killall": kill_by_name("killall"),
    "npm": package_manager("npm"),
    "pnpm": package_manager("pnpm"),
    "yarn": package_manager("yarn"),
    "redis-cli": redis_cli,
    "mongo": mongo("mongo"),
    "mongosh": mongo("mongosh"),
}
