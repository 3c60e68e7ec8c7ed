"""SQL the parser cannot see into (ladder level 4): hidden code asks, what it hides is checked.

A syntax tree shows what a statement is, not what a function does or what a comment holds:

- MySQL and MariaDB *run* the text of ``/*! ... */`` and ``/*!50000 ... */`` (``/*M! */``)
  comments, which every parser drops as a comment: ``DELETE FROM t WHERE id = 1 /*! OR 1=1 */``
  deletes every row. :func:`reveal_executable_comments` turns them into code for the check.
- A function call may write, read files, load code or run SQL of its own
  (``dblink_exec('DROP TABLE t')``, ``load_extension('/tmp/x.so')``, ``writefile(...)``,
  ``nextval``). Only the functions sqlglot knows, less those with effects, count as plain
  reads; any other call asks (:func:`function_decisions`).
- ``EXEC('...')``, ``EXECUTE``, ``sp_executesql``, ``dblink_exec`` run SQL given as text:
  they ask, and the text is checked as SQL too (:func:`dynamic_sql`), so a DROP in it is
  denied.
- A statement that is not a statement sqlglot knows (``EXEC(...)`` parsed as a bare
  function call) asks.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pytest_opsladder.guardrails.verdicts import Decision, Verdict

_EXECUTABLE_COMMENT = re.compile(r"/\*M?!\d{0,6}(.*?)\*/", re.DOTALL)
# Functions whose text arguments are SQL they run (T-SQL, MySQL, PostgreSQL's dblink, XML).
_DYNAMIC_SQL = frozenset(
    {"exec", "execute", "sp_executesql", "dblink_exec", "dblink", "dblink_send_query"}
    | {"query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema", "cursor_to_xml"}
)
# Functions sqlglot knows that are not plain reads: they call out (AI and ML services),
# read files, advance sequences, or build SQL identifiers at run time.
_EFFECTS = frozenset(
    {"NextValueFor", "ToFile", "Secret", "DynamicIdentifier", "GenerateEmbedding"}
    | {"GenerateText", "Predict", "VectorSearch", "FeaturesAtTime", "AnonymousAggFunc"}
)
_EFFECT_PREFIXES = ("Read", "AI", "ML")


def reveal_executable_comments(sql: str) -> str | None:
    """``sql`` with MySQL's executable comments opened as code, or None when it has none."""
    if "/*!" not in sql and "/*M!" not in sql:
        return None
    return _EXECUTABLE_COMMENT.sub(lambda m: f" {m.group(1)} ", sql)


def executable_comment_decision(sql: str) -> Decision:
    why = (
        "MySQL runs the text of /*! ... */ comments as SQL; the statement is checked with it"
        f" as code, and asks: {sql[:80]!r}"
    )
    return Decision(Verdict.ASK, "sql:executable-comment", why)


def statement_kinds() -> tuple[type, ...]:
    """The statement classes sqlglot builds for real statements (the rest is not one)."""
    from sqlglot import exp

    names = (
        "Query Insert Update Delete Merge Create Drop Alter TruncateTable Copy Command"
        " Describe Show Set Use Pragma Transaction Commit Rollback Analyze Comment Grant"
        " Revoke Cache Uncache Refresh Kill Summarize Export"
    )
    return tuple(k for k in (getattr(exp, n, None) for n in names.split()) if isinstance(k, type))


def not_a_statement(node: Any) -> Decision | None:
    """An ask when the top of ``node`` is not a statement (``EXEC('...')`` is a call)."""
    if isinstance(node, statement_kinds()):
        return None
    why = f"{_short(node)!r} is not a statement the guard knows (a procedure or dynamic SQL?)"
    return Decision(Verdict.ASK, "sql:not-a-statement", why)


def function_decisions(node: Any) -> list[Decision]:
    """An ask per call of a function not known to be free of side effects, once per name."""
    from sqlglot import exp

    out: dict[str, Decision] = {}
    for sub in node.walk():
        if not isinstance(sub, exp.Func):
            continue
        name = type(sub).__name__
        if isinstance(sub, exp.Anonymous):
            name = str(sub.name).lower()
            if _known_pure(name, len(sub.expressions)):
                continue
        elif not _effects(name):
            continue
        why = (
            f"{name}() is not a function the guard knows to be free of side effects (it may"
            " write, read or load files, run SQL or call out)"
        )
        out.setdefault(name, Decision(Verdict.ASK, "sql:function", why))
    return list(out.values())


def _effects(class_name: str) -> bool:
    return class_name in _EFFECTS or class_name.startswith(_EFFECT_PREFIXES)


# Dialects whose function names sqlglot maps to its classes: ``now()`` is anonymous in the
# generic dialect but CURRENT_TIMESTAMP in PostgreSQL's, ``strftime`` is sqlite's TimeToStr.
_DIALECTS = (
    "postgres", "mysql", "sqlite", "duckdb", "tsql", "snowflake", "bigquery", "spark",
    "trino", "oracle", "clickhouse", "redshift",
)  # fmt: skip


@lru_cache(maxsize=1024)
def _known_pure(name: str, arity: int) -> bool:
    """Is ``name`` a function some dialect of sqlglot knows, and not one with effects?"""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    if name in _DYNAMIC_SQL or not name.isidentifier():
        return False
    call = f"SELECT {name}({', '.join(['NULL'] * arity)})"
    for dialect in _DIALECTS:
        try:
            found = sqlglot.parse_one(call, read=dialect).expressions[0]
        except (SqlglotError, ValueError, IndexError, AttributeError):
            continue
        if isinstance(found, exp.Func) and not isinstance(found, exp.Anonymous):
            return not _effects(type(found).__name__)
    return False


def dynamic_sql(node: Any) -> tuple[Decision | None, list[str]]:
    """(an ask, the SQL texts run) for ``EXEC``, ``sp_executesql``, ``dblink_exec`` in ``node``.

    A statement sqlglot keeps opaque (``EXECUTE('...')``, ``PREPARE s FROM '...'``) gives
    its string literals.
    """
    from sqlglot import exp

    runners = [
        sub
        for sub in node.walk()
        if type(sub).__name__ in ("Execute", "ExecuteSql")
        or (isinstance(sub, exp.Anonymous) and str(sub.name).lower() in _DYNAMIC_SQL)
    ]
    texts = [t for sub in runners for t in _texts(sub)]
    if isinstance(node, exp.Command) and str(node.this).upper() in _RUNS_TEXT:
        runners.append(node)
        texts += _command_strings(str(node))
    if not runners:
        return None, []
    why = (
        f"{_short(runners[0])!r} runs a procedure or SQL given as text (the text is checked"
        " too): a human must read it"
    )
    return Decision(Verdict.ASK, "sql:dynamic", why), [t for t in texts if t.strip()]


_RUNS_TEXT = {"EXEC", "EXECUTE", "PREPARE", "CALL"}


def _command_strings(text: str) -> list[str]:
    from pytest_opsladder.guardrails.sql_tokens import SqlSyntaxError, tokenize

    try:
        tokens = tokenize(text)
    except SqlSyntaxError:
        return []
    return [t.text[1:-1].replace("''", "'") for t in tokens if t.kind == "string"]


def _texts(node: Any) -> list[str]:
    """String literals under ``node``, and names with a space (T-SQL ``EXEC('...')`` parses
    its text as a quoted name)."""
    from sqlglot import exp

    out = [str(s.this) for s in node.find_all(exp.Literal) if s.is_string]
    return out + [str(i.this) for i in node.find_all(exp.Identifier) if " " in str(i.this)]


def _short(node: Any) -> str:
    try:
        return str(node)[:80]
    except Exception:  # rendering is for the message only
        return type(node).__name__
