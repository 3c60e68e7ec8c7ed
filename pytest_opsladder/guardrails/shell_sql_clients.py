"""SQL reached through database command lines (ladder level 4): sqlite3, psql, mysql, duckdb.

Every place a client takes SQL from is read: sqlite3's and duckdb's SQL operands after the
database and their ``-cmd``/``-c`` values, every repeated ``psql -c``, ``mysql -e`` and
``--init-command``, and standard input when it is known (a here-doc, a here-string,
``echo SQL |``). Client meta commands that run a shell (``.shell``, ``.system``, ``\\!``,
mysql's ``system``) or pipe output to a program are denied; those that read or write files
ask. A client runs unasked only when all its SQL only reads and its options are known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pytest_opsladder.guardrails.shell_context import (
    ShellContext,
    ask,
    deny,
    path_decisions,
    unsafe_options,
    words,
)
from pytest_opsladder.guardrails.shell_options import OptionSpec, parse_options, spec
from pytest_opsladder.guardrails.sql_detect import classify_sql
from pytest_opsladder.guardrails.verdicts import Decision

Check = Callable[[list[str], ShellContext], list[Decision]]
_SQLITE_FLAGS = sorted(
    words(
        "append ascii bail batch box column csv echo header noheader html interactive json line"
        " list markdown memtrace nofollow quote readonly safe stats table tabs version help zip"
        " deserialize unsafe-testing no-stdin unsigned"
    )
)
_SQLITE_VALUES = "cmd separator newline nullvalue mmap maxsize vfs nonce pagecache lookaside"
_SQLITE_VALUES_SET = words(_SQLITE_VALUES) | {"c", "s"}
_SQLITE_FILES = {"init"}
_DOT_SHELL = {".shell", ".system"}
# Dot and backslash commands that only show or format: anything else asks.
_DOT_SAFE = words(
    ".tables .schema .headers .header .mode .indexes .indices .help .databases .dbinfo .show"
    " .width .nullvalue .separator .timer .echo .bail .changes .print .explain .eqp .fullschema"
    " .lint .stats .quit .exit .version .columns"
)
_SLASH_SAFE = words(
    "l list x timing conninfo encoding echo set unset pset q ? h help a t f H T C z sf sv"
    " errverbose qecho warn"
)
_DOT_FILES = {".output", ".once", ".save", ".backup", ".restore", ".import", ".read", ".load"}
_DOT_FILES |= {".open", ".clone", ".excel", ".log", ".trace", ".dump", ".archive", ".ar"}
_DOT_PIPES = {".output", ".once", ".excel"}  # ``.once |cmd`` pipes the output to a shell
# Backslash commands that run a shell: psql's \! and mysql's \! (system) and \P (pager).
_SLASH_SHELL = {"!", "P"}


@dataclass(slots=True)
class ClientSql:
    """The SQL texts a client will run, and findings about its options."""

    texts: list[str]
    findings: list[Decision]
    reads_stdin: bool
    database: str | None = None


def _sqlite_like(name: str, args: list[str]) -> ClientSql:
    texts: list[str] = []
    operands: list[str] = []
    findings: list[Decision] = []
    i = 0
    while i < len(args):
        word = args[i]
        option = word.lstrip("-") if word.startswith("-") and not operands else None
        if option is None:
            operands.append(word)
        elif option in _SQLITE_VALUES_SET and i + 1 < len(args):
            texts += [args[i + 1]] if option in ("cmd", "c", "s") else []
            i += 1
        elif option in _SQLITE_FILES:
            findings.append(ask("sql:unseen", f"{name} -{option} runs SQL from a file"))
            i += 1
        elif option not in _SQLITE_FLAGS:
            findings += unsafe_options(name, [word])
        i += 1
    texts += operands[1:]
    stdin = len(operands) <= 1 and not _has(args, ("c", "s"))
    database = operands[0] if operands and operands[0] != ":memory:" else None
    return ClientSql(texts, findings, stdin, database)


def _has(args: list[str], options: tuple[str, ...]) -> bool:
    return any(a.lstrip("-") in options for a in args if a.startswith("-"))


_PSQL = spec(
    "-c=|--command= -f@|--file@ -d=|--dbname= -h=|--host= -p=|--port= -U=|--username="
    " -W|--password -w|--no-password -X|--no-psqlrc -A|--no-align -t|--tuples-only"
    " -x|--expanded -q|--quiet -v=|--set=|--variable= -1|--single-transaction -e|--echo-queries"
    " -E|--echo-hidden -a|--echo-all -b|--echo-errors -n|--no-readline -s|--single-step"
    " -S|--single-line -F=|--field-separator= -R=|--record-separator= -P=|--pset= -T=|--table-attr="
    " -H|--html -l|--list -V|--version -z|--field-separator-zero -0|--record-separator-zero"
    " --csv -?|--help? !-o@|--output@ !-L@|--log-file@"
)
_MYSQL = spec(
    "-e=|--execute= -D=|--database= -h=|--host= -u=|--user= -p?|--password? -P=|--port="
    " -B|--batch -N|--skip-column-names -s|--silent -t|--table -v|--verbose -E|--vertical"
    " -X|--xml -H|--html -r|--raw --protocol= -S=|--socket= --ssl-mode= -V|--version -?|--help"
    " --default-character-set= -A|--no-auto-rehash --column-names --init-command="
    " !--defaults-file@ !--defaults-extra-file@ !--tee@ !--pager? !--plugin-dir@"
    " !--local-infile?"
)


def _getopt_client(args: list[str], option_spec: OptionSpec, sql_options: set[str]) -> ClientSql:
    parsed = parse_options(args, option_spec)
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in option_spec.unsafe]
    texts = [o.value for o in parsed.options if o.name in sql_options and o.value is not None]
    findings = unsafe_options("the client", bad)
    if parsed.get("--file"):
        findings.append(ask("sql:unseen", "SQL from a file cannot be checked before it runs"))
    return ClientSql(texts, findings, not texts and not parsed.get("--file"))


def _meta(text: str, name: str) -> list[Decision]:
    """Client meta commands: shell escapes deny, file and program access ask."""
    out: list[Decision] = []
    for line in text.splitlines() or [text]:
        out += _dot_command(line, name)
    out += _backslash_commands(text, name)
    for statement in re.split(r"[;\n]", text):
        word = statement.strip().split(" ", 1)[0].lower()
        if word in ("system", "pager"):
            out.append(deny("sql:client-shell", f"{name} {word} runs a shell command"))
        elif word in ("source", "tee", "edit"):
            out.append(ask("sql:client-files", f"{name} {word} reads or writes files"))
    return out


def _dot_command(line: str, name: str) -> list[Decision]:
    """A sqlite3/duckdb dot command, read as the client reads it: any prefix of its name.

    ``.sh`` and ``.sys`` are ``.shell``/``.system``, ``.o |sh`` is ``.output |sh``; only the
    exact name of a known-safe command passes.
    """
    word = line.strip().split(" ", 1)[0].lower()
    if not word.startswith(".") or word in _DOT_SAFE:
        return []
    meant = {c for c in _DOT_SHELL | _DOT_FILES if c.startswith(word) and len(word) > 1}
    if meant & _DOT_SHELL or (meant & _DOT_PIPES and "|" in line):
        return [deny("sql:client-shell", f"{name} {word} runs a shell command")]
    if meant:
        return [ask("sql:client-files", f"{name} {word} reads or writes files")]
    return [ask("sql:client-meta", f"{name} {word} is not a known-safe meta command")]


def _backslash_commands(text: str, name: str) -> list[Decision]:
    """psql's and mysql's backslash commands; psql runs text in backquotes as a shell command."""
    out: list[Decision] = []
    for command in re.findall(r"\\([a-zA-Z!.]+)", text):
        if command[:1] in _SLASH_SHELL or (command in ("o", "out", "g", "gx", "w") and "|" in text):
            out.append(deny("sql:client-shell", f"{name} \\{command} runs a shell command"))
        elif command not in _SLASH_SAFE and not command.startswith("d"):
            out.append(
                ask("sql:client-meta", f"{name} \\{command} is not a known-safe meta command")
            )
    for line in text.splitlines() if name == "psql" else []:
        meta = line[line.find("\\") :] if "\\" in line else ""
        if "`" in meta:
            out.append(
                deny("sql:client-shell", f"{name} runs the text in backquotes as a shell command")
            )
        if re.match(r"\\copy\b.*\bprogram\b", meta, re.IGNORECASE | re.DOTALL):
            out.append(deny("sql:copy-program", f"{name} \\copy ... program runs a shell command"))
    return out


_DIALECT = {"sqlite3": "sqlite", "psql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
_DIALECT["duckdb"] = "duckdb"


def client(name: str) -> Check:
    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        found = _read_client(name, args)
        if found.reads_stdin:
            found.texts.append(ctx.stdin.text if ctx.stdin.text is not None else "")
            if ctx.stdin.text is None:
                why = f"{name} reads SQL from standard input, unseen before it runs"
                found.findings.append(ask("sql:unseen", why))
        out = found.findings + _path_args(name, args, ctx)
        for text in found.texts:
            out += _sql_text(name, text)
        return out

    return check


def _read_client(name: str, args: list[str]) -> ClientSql:
    if name in ("sqlite3", "duckdb"):
        return _sqlite_like(name, args)
    if name == "psql":
        return _getopt_client(args, _PSQL, {"--command"})
    return _getopt_client(args, _MYSQL, {"--execute", "--init-command"})


def _path_args(name: str, args: list[str], ctx: ShellContext) -> list[Decision]:
    if name in ("sqlite3", "duckdb"):  # the database file, created if missing
        database = _sqlite_like(name, args).database
        return path_decisions(name, [database] if database else [], ctx)
    options = _PSQL if name == "psql" else _MYSQL
    return path_decisions(name, parse_options(args, options).paths(), ctx)


def _sql_text(name: str, text: str) -> list[Decision]:
    meta = _meta(text, name)
    sql = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith((".", "\\")))
    if name in ("mysql", "mariadb"):
        sql = ";".join(  # statements stay apart: "select 1; delete from t" is two
            s
            for s in sql.split(";")
            if s.strip().split(" ", 1)[0].lower() not in ("system", "pager", "source", "tee")
        )
    decisions, reads = classify_sql(sql, _DIALECT[name])
    # A call of a function with effects is "not a plain read" here: one reason says it.
    kept = [d for d in decisions if d.rule != "sql:function"]
    out = meta + kept
    if not reads and not kept and not meta:
        why = (
            f"{name} runs SQL that is not a plain read (it writes, reads files or calls functions)"
        )
        out.append(ask("sql:not-read-only", why))
    return out


SQL_CLIENTS: dict[str, Check] = {name: client(name) for name in _DIALECT}
