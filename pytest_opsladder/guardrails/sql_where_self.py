"""A WHERE that filters a table by a subquery over the same table (ladder level 4).

``UPDATE users SET admin = 1 WHERE id IN (SELECT id FROM users)`` names a column and a
subquery, the shape of a targeted write, yet selects every row whose ``id`` is not NULL, as
``WHERE id = id`` does. :func:`self_subquery_rows` judges ``x IN (SELECT ...)`` and
``x = ANY (SELECT ...)`` when the subquery reads the statement's own table:

- ``SELECT x FROM <the same table>`` (schema, quoting, case and aliases aside) selects every
  row unless its own WHERE limits it, judged like the outer one (``WHERE 1 = 1`` does not), or
  a LIMIT or HAVING narrows it;
- another column of the same table (``id IN (SELECT parent_id FROM users)``) limits;
- a subquery that reads the table through a join, a derived table, a CTE or a set operation
  cannot be judged here: it asks.

Subqueries over other tables (``id IN (SELECT user_id FROM bans)``) are not judged here: they
limit, as the documented targeted writes do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_opsladder.guardrails.sql_rows import Rows


def self_subquery_rows(node: Any, scope: Any, judge: Callable[[Any, Any], Rows]) -> Rows | None:
    """Rows of ``x IN (subquery)`` / ``x = ANY (subquery)`` over the target; None otherwise.

    ``judge`` is :func:`sql_where.where_rows`, applied to the subquery's own WHERE.
    """
    from sqlglot import exp

    outer, query = _subquery(node)
    if query is None or not _reads_target(query, scope):
        return None
    table = _plain_source(query)
    if table is None or table.name.lower() not in scope.target_names:
        return Rows.UNKNOWN
    if not _same_column(outer, query, table, scope):
        return Rows.SOME
    if query.args.get("limit") or query.args.get("having") or query.args.get("offset"):
        return Rows.SOME
    where = query.args.get("where")
    if not isinstance(where, exp.Where):
        return Rows.ALL
    inner = judge(query, where.this)
    return Rows.ALL if inner.unlimited else inner


def _subquery(node: Any) -> tuple[Any, Any]:
    """(the tested operand, the subquery's query) of ``x IN (q)``, ``x = ANY (q)`` (either
    side), or (None, None)."""
    from sqlglot import exp

    outer, query = node.this, node.args.get("query") if isinstance(node, exp.In) else None
    if isinstance(node, exp.EQ):
        sides = [node.this, node.expression]
        some = [s for s in sides if isinstance(s, exp.Any)]
        query = some[0].this if some else None
        outer = next((s for s in sides if not isinstance(s, exp.Any)), None)
    while isinstance(query, exp.Subquery | exp.Paren):
        query = query.this
    return (outer, query) if isinstance(query, exp.Query) else (None, None)


def _reads_target(query: Any, scope: Any) -> bool:
    """Does ``query`` read the target table, directly or through a CTE of the statement?"""
    from sqlglot import exp

    for table in query.find_all(exp.Table):
        name = table.name.lower()
        if name in scope.target_names:
            return True
        body = scope.ctes.get(name)
        if body is not None and body is not query and _reads_target(body, scope):
            return True
    return False


def _plain_source(query: Any) -> Any:
    """The one table a plain ``SELECT ... FROM t [WHERE ...]`` reads; None for anything else."""
    from sqlglot import exp

    if not isinstance(query, exp.Select) or query.args.get("joins") or query.args.get("laterals"):
        return None
    source = query.args.get("from_") or query.args.get("from")
    table = source.this if isinstance(source, exp.From) else None
    return table if isinstance(table, exp.Table) else None


def _same_column(outer: Any, query: Any, table: Any, scope: Any) -> bool:
    """Does the subquery select the very column the outer condition tests?"""
    from sqlglot import exp

    if not isinstance(outer, exp.Column) or len(query.expressions) != 1:
        return False
    inner = query.expressions[0]
    inner = inner.this if isinstance(inner, exp.Alias) else inner
    if not isinstance(inner, exp.Column):
        return False
    own = {n.lower() for n in (table.name, table.alias) if n}
    qualified = not inner.table or inner.table.lower() in own
    return qualified and inner.name.lower() == scope.key(outer).lower()
