"""Destructive SQL detection on a real SQL parser (ladder level 4).

sqlglot parses each statement into a syntax tree in the client's dialect (sqlite, postgres,
mysql, duckdb): strings, comments and quoted names are never mistaken for keywords, a DELETE
hidden in a CTE (``WITH d AS (DELETE ...) SELECT``) is found by walking the tree, and a WHERE
is judged by :mod:`sql_where`, so ``WHERE 1``, ``WHERE 2>1``, ``WHERE EXISTS (SELECT 1)`` and
``WHERE id = id`` count as no WHERE at all. What the tree hides (MySQL's ``/*! ... */``,
``EXEC('...')``, functions with effects) is handled by :mod:`sql_hidden`. What sqlglot cannot
parse (PL/pgSQL ``DO $$ ... $$``, unknown syntax) asks, and the token-level check of
:mod:`sql_tokens` still denies what it recognises.

:func:`classify_sql` also says whether SQL only reads (a SELECT without INTO, calling only
functions known to be free of effects, nothing that writes anywhere in the tree): a database
client in a shell command runs unasked only for such reads.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from pytest_opsladder.guardrails.sql_admin import admin_decisions, is_read_pragma
from pytest_opsladder.guardrails.sql_hidden import (
    dynamic_sql,
    executable_comment_decision,
    function_decisions,
    not_a_statement,
    reveal_executable_comments,
)
from pytest_opsladder.guardrails.sql_tokens import SqlSyntaxError, token_decisions, tokenize
from pytest_opsladder.guardrails.sql_where import Rows, where_rows
from pytest_opsladder.guardrails.verdicts import Decision, Verdict

# sqlglot logs a warning for every statement it keeps as an opaque Command; that is an
# expected outcome here (it asks), not something to print on every decision.
logging.getLogger("sqlglot").setLevel(logging.ERROR)
_WRITES = frozenset(
    {"Insert", "Update", "Delete", "Merge", "Drop", "TruncateTable", "Alter", "Create", "Copy"}
    | {"Command", "Set", "Use", "Pragma", "Into", "Anonymous", "Transaction"}
)


@lru_cache(maxsize=4096)
def classify_sql(sql: str, dialect: str | None = None) -> tuple[tuple[Decision, ...], bool]:
    """(decisions, only_reads) for ``sql``: denies and asks, and whether it merely reads."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    if not sql.strip():
        return (), True
    revealed = reveal_executable_comments(sql)
    if revealed is not None:  # MySQL runs /*! ... */: check it as the code it is
        return (executable_comment_decision(sql), *classify_sql(revealed, dialect)[0]), False
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except (SqlglotError, ValueError, RecursionError) as exc:
        why = f"the SQL parser cannot parse it ({str(exc)[:120]})"
        unparsed = Decision(Verdict.ASK, "sql:unparseable", why)
        return (unparsed, *_fallback(sql), *admin_decisions(sql)), False
    found = admin_decisions(sql)  # permissions and PRAGMAs, however sqlglot parses them
    for statement in statements:
        found += _statement(statement, sql, dialect)
    reads = all(_only_reads(s) for s in statements)
    return tuple(found), reads and not found


def sql_decisions(sql: str, dialect: str | None = None) -> list[Decision]:
    """Denies and asks for SQL given to a SQL tool (writes with a real WHERE are fine)."""
    return list(classify_sql(sql, dialect)[0])


def _fallback(sql: str) -> list[Decision]:
    try:
        tokenize(sql)
    except SqlSyntaxError:
        return []
    return token_decisions(sql)


def _statement(node: object, sql: str, dialect: str | None) -> list[Decision]:
    from sqlglot import exp

    assert isinstance(node, exp.Expression)
    kind = not_a_statement(node)
    out: list[Decision] = [kind] if kind is not None else []
    for sub in node.walk():
        found = _destructive(sub)
        if found is not None:
            out.append(found)
    if not isinstance(node, exp.Pragma):  # PRAGMA table_info(t) is judged by sql_admin
        out += function_decisions(node)
    runs, texts = dynamic_sql(node)
    if runs is not None:
        out.append(runs)
    for text in texts:  # EXEC('DROP TABLE t'): the text is SQL too
        out += classify_sql(text, dialect)[0]
    if isinstance(node, exp.Command):
        out += _command(node, sql)
    return out


_JUDGED = ("Drop", "TruncateTable", "Delete", "Update", "When", "Copy")


def _destructive(node: object) -> Decision | None:
    from sqlglot import exp

    if type(node).__name__ not in _JUDGED:
        return None  # most nodes: skip rendering their text (half the time of a decision)
    text = _short(node)
    if isinstance(node, exp.Drop):
        return _deny("drop", f"DROP destroys data: {text!r}")
    if isinstance(node, exp.TruncateTable):
        return _deny("truncate", f"TRUNCATE destroys data: {text!r}")
    if isinstance(node, exp.Delete | exp.Update):
        return _unlimited_write(node, text)
    if isinstance(node, exp.When) and _var(node.args.get("then")) == "DELETE":
        return _deny("merge-delete", f"MERGE ... THEN DELETE deletes rows: {text!r}")
    if isinstance(node, exp.Copy) and "PROGRAM" in text.upper():
        return _deny("copy-program", f"COPY ... PROGRAM runs a shell command: {text!r}")
    if isinstance(node, exp.Copy) and _names_a_file(node):
        why = f"COPY reads or writes a file on the database server: {text!r}"
        return Decision(Verdict.ASK, "sql:server-files", why)
    return None


def _names_a_file(node: object) -> bool:
    """``COPY t TO '/path'`` (not ``STDIN``/``STDOUT``)."""
    from sqlglot import exp

    assert isinstance(node, exp.Copy)
    files = node.args.get("files") or []
    return any(isinstance(f, exp.Literal) and f.is_string for f in files)


def _unlimited_write(node: object, text: str) -> Decision | None:
    """A DELETE/UPDATE whose WHERE is missing or not shown to limit the rows (:mod:`sql_where`)."""
    from sqlglot import exp

    assert isinstance(node, exp.Delete | exp.Update)
    verb = "DELETE" if isinstance(node, exp.Delete) else "UPDATE"
    where = node.args.get("where")
    rows = where_rows(node, where.this) if isinstance(where, exp.Where) else Rows.ALL
    if rows.unlimited:
        why = f"{verb} without a WHERE that limits it touches every row: {text!r}"
        return _deny(f"{verb.lower()}-without-where", why)
    if rows is Rows.UNKNOWN:
        why = (
            f"{verb} with a WHERE the guard cannot show to limit the rows (a function, a CASE"
            f" or a column that may belong to another table decides): {text!r}"
        )
        return Decision(Verdict.ASK, "sql:where-unclear", why)
    return None


def _command(node: object, sql: str) -> list[Decision]:
    """Statements sqlglot keeps opaque: procedural blocks ask; their body is token-checked."""
    text = _short(node)
    why = f"a statement the SQL parser cannot look into (procedural block?): {text!r}"
    return [Decision(Verdict.ASK, "sql:procedural", why), *_fallback(str(node))]


def _only_reads(node: object) -> bool:
    from sqlglot import exp

    if isinstance(node, exp.Pragma):
        return is_read_pragma(node.sql())
    if not isinstance(node, exp.Query | exp.Describe | exp.Show):
        return False
    return not any(_touches_more(sub) for sub in node.walk())


def _touches_more(node: object) -> bool:
    """Writes, unknown functions, file readers (``read_csv``) and table functions."""
    from sqlglot import exp

    name = type(node).__name__
    if name in _WRITES or name.startswith("Read"):
        return True
    if isinstance(node, exp.Table) and ("/" in node.name or "." in node.name):
        return True  # duckdb reads FROM 'file.csv' and FROM '/etc/passwd' as files
    return isinstance(node, exp.Func) and isinstance(node.parent, exp.From | exp.Join | exp.Table)


def _var(node: object) -> str:
    from sqlglot import exp

    return str(node.this).upper() if isinstance(node, exp.Var) else ""


def _short(node: object) -> str:
    try:
        return str(node)[:80]
    except Exception:  # rendering is for the message only; never fail a decision on it
        return type(node).__name__


def _deny(rule: str, why: str) -> Decision:
    return Decision(Verdict.DENY, f"sql:{rule}", why)
