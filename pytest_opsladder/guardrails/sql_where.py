"""Does a DELETE's or UPDATE's WHERE limit the rows? (ladder level 4, destructive SQL).

A deny-list of "always true" spellings (``WHERE 1``, ``WHERE 1=1``) misses the next one
(``WHERE 2>1``, ``WHERE 1 IN (1)``, ``WHERE EXISTS (SELECT 1)``, ``WHERE "id" = id``). So a
WHERE is judged the allow-list way, on sqlglot's tree after constant folding
(``sqlglot.optimizer.simplify``):

- a condition that refers to no column of the target table (a constant expression, or only
  subqueries not correlated with the table) touches every row or none: it does not limit;
- tautologies the guard can see do not limit either: ``x = x`` (quoting and the table's own
  qualifier ignored, ``x + 0`` is ``x``), ``x IN (x)``, ``x LIKE '%'``, ``p OR NOT p``
  (``id = 1 OR id <> 1``, ``x IS NULL OR NOT x IS NULL``), ``NOT (x <> x)``;
- a subquery over the target table itself does not limit unless its own WHERE (or LIMIT)
  does: ``id IN (SELECT id FROM users)`` on ``users`` is ``id = id`` (:mod:`sql_where_self`);
- a condition on the table's rows limits when it is a comparison or test of a *bare* column
  (``id = 7``, ``name LIKE 'a%'``, ``id IN (SELECT ...)``, ``active``), combined with AND (one
  limiting part suffices) or OR (every part must limit);
- anything else on the rows is undecided: it asks. That is a function or CASE used as the
  condition, a column that might belong to another table of the statement or to a subquery,
  and a comparison of a *function* of a column (``abs(id) >= 0``, ``length(name) >= 0``,
  ``id * id >= 0``, ``CAST(id AS TEXT) <> ''``): whether it holds for every row takes
  knowledge of the function and the schema, which the guard does not have.

:func:`where_rows` says which of these a WHERE is.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_opsladder.guardrails.sql_rows import Rows
from pytest_opsladder.guardrails.sql_where_self import self_subquery_rows

__all__ = ["Rows", "where_rows"]


def where_rows(statement: Any, condition: Any) -> Rows:
    """Which rows ``condition`` (a DELETE's or UPDATE's WHERE) selects from ``statement``."""
    from sqlglot.optimizer.simplify import simplify

    scope = _Scope(statement)
    try:
        condition = simplify(condition.copy())
    except Exception:  # folding is a help, never a requirement: judge the tree as written
        condition = condition.copy()
    return _rows(_nnf(condition, negate=False), scope)


class _Scope:
    """The names of the statement's target table and of the other tables it reads."""

    def __init__(self, statement: Any) -> None:
        from sqlglot import exp

        targets = [t for t in _target_tables(statement) if isinstance(t, exp.Table)]
        self.targets = {name for t in targets for name in _names(t)}
        self.target_names = {t.name.lower() for t in targets}
        with_ = statement.args.get("with_") or statement.args.get("with")
        ctes = with_.expressions if isinstance(with_, exp.With) else []
        self.ctes: dict[str, Any] = {c.alias.lower(): c.this for c in ctes}
        where = statement.args.get("where")
        self.others = {
            name
            for table in statement.find_all(exp.Table)
            if _outside(table, where, statement) and not (_names(table) & self.targets)
            for name in _names(table)
        }

    def refers(self, node: Any) -> tuple[bool, bool]:
        """(refers to a row of the target, refers to a column whose table is unclear)."""
        from sqlglot import exp

        row = unclear = False
        for column in node.find_all(exp.Column):
            qualifier = column.table.lower()
            inner = _inner_tables(column, node)
            if qualifier and qualifier in inner:
                continue  # a column of a table inside the subquery
            if qualifier:
                row = row or qualifier in self.targets
            elif inner or self.others:
                unclear = True  # the subquery's table or another table may have it
            else:
                row = True
        return row, unclear

    def key(self, node: Any) -> str:
        """``node`` as text with quoting, case, the target's qualifier and ``+ 0`` dropped."""
        return str(node.copy().transform(self._plain).sql())

    def _plain(self, node: Any) -> Any:
        from sqlglot import exp

        if isinstance(node, exp.Identifier):
            return exp.to_identifier(node.name.lower())
        if isinstance(node, exp.Column) and node.table.lower() in self.targets:
            return exp.column(node.name.lower())
        if isinstance(node, exp.Paren):
            return node.this
        return _identity_operand(node)


def _target_tables(statement: Any) -> list[Any]:
    """The tables a DELETE or UPDATE writes, or the one a subquery's SELECT reads."""
    from sqlglot import exp

    if isinstance(statement, exp.Select):
        source = statement.args.get("from_") or statement.args.get("from")
        return [source.this] if isinstance(source, exp.From) else []
    return [statement.this, *(statement.args.get("tables") or [])]


def _names(table: Any) -> set[str]:
    return {n.lower() for n in (table.name, table.alias) if n}


def _outside(table: Any, where: Any, statement: Any) -> bool:
    """A table of the statement itself: not in its WHERE, not in a subquery."""
    from sqlglot import exp

    node = table.parent
    while node is not None and node is not statement:
        if node is where or isinstance(node, exp.Query):
            return False
        node = node.parent
    return True


def _inner_tables(column: Any, root: Any) -> set[str]:
    """Names of the tables the subqueries around ``column`` (inside ``root``) read."""
    from sqlglot import exp

    names: set[str] = set()
    node = column.parent
    while node is not None and node is not root.parent:
        if isinstance(node, exp.Select):
            for table in node.find_all(exp.Table):
                names |= _names(table)
        node = node.parent
    return names


def _identity_operand(node: Any) -> Any:
    """``x + 0``, ``x - 0``, ``x * 1``, ``x / 1``, ``x || ''`` are ``x``."""
    from sqlglot import exp

    neutral = {exp.Add: "0", exp.Sub: "0", exp.Mul: "1", exp.Div: "1", exp.DPipe: ""}
    value = neutral.get(type(node))
    if value is None:
        return node
    right = node.expression
    if isinstance(right, exp.Literal) and right.this == value:
        return node.this
    left = node.this
    if type(node) in (exp.Add, exp.Mul) and isinstance(left, exp.Literal) and left.this == value:
        return right
    return node


def _complements() -> dict[type, type]:
    from sqlglot import exp

    pairs = [(exp.EQ, exp.NEQ), (exp.LT, exp.GTE), (exp.GT, exp.LTE)]
    return {**dict(pairs), **{b: a for a, b in pairs}}


def _nnf(node: Any, *, negate: bool) -> Any:
    """Negation pushed down to the comparisons: ``NOT (a AND b)`` is ``NOT a OR NOT b``."""
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return _nnf(node.this, negate=negate)
    if isinstance(node, exp.Not):
        return _nnf(node.this, negate=not negate)
    if isinstance(node, exp.And | exp.Or):
        swap = {exp.And: exp.Or, exp.Or: exp.And}
        kind = swap[type(node)] if negate else type(node)
        left, right = (_nnf(n, negate=negate) for n in (node.this, node.expression))
        return kind(this=left, expression=right)
    if isinstance(node, exp.Boolean):
        return exp.Boolean(this=bool(node.this) != negate)
    complement = _complements().get(type(node))
    if negate and complement is not None:
        return _ordered(complement(this=node.this.copy(), expression=node.expression.copy()))
    if negate:
        return exp.Not(this=node.copy())
    return _ordered(node) if type(node) in _complements() else node


def _ordered(node: Any) -> Any:
    """``a > b`` is written ``b < a``: one spelling per comparison, so complements match."""
    from sqlglot import exp

    flips = {exp.GT: exp.LT, exp.GTE: exp.LTE}
    kind = flips.get(type(node))
    if kind is not None:
        return kind(this=node.expression, expression=node.this)
    if isinstance(node, exp.EQ | exp.NEQ) and node.expression.sql() < node.this.sql():
        return type(node)(this=node.expression, expression=node.this)
    return node


def _rows(node: Any, scope: _Scope) -> Rows:
    from sqlglot import exp

    if isinstance(node, exp.Or):
        parts = list(node.flatten())
        return _any_of(parts, [_rows(p, scope) for p in parts], scope)
    if isinstance(node, exp.And):
        return _all_of([_rows(p, scope) for p in node.flatten()])
    return _atom(node, scope)


def _any_of(parts: list[Any], found: list[Rows], scope: _Scope) -> Rows:
    """OR: every part must limit, and no part may be another's negation (``p OR NOT p``)."""
    keys = {scope.key(p) for p in parts}
    if Rows.ALL in found or any(scope.key(_nnf(p, negate=True)) in keys for p in parts):
        return Rows.ALL
    for rows in (Rows.CONSTANT, Rows.UNKNOWN):
        if rows in found:
            return rows
    return Rows.NONE if all(r is Rows.NONE for r in found) else Rows.SOME


def _all_of(found: list[Rows]) -> Rows:
    """AND: one limiting part limits the whole."""
    for rows in (Rows.NONE, Rows.SOME, Rows.UNKNOWN, Rows.CONSTANT):
        if rows in found:
            return rows
    return Rows.ALL


def _atom(node: Any, scope: _Scope) -> Rows:
    from sqlglot import exp

    negated = isinstance(node, exp.Not)
    inner = node.this if negated else node
    row, unclear = scope.refers(inner)
    if not row:
        found = _constant(inner) if not unclear else Rows.UNKNOWN
    else:
        found = _on_rows(inner, scope)
    flip = {Rows.ALL: Rows.NONE, Rows.NONE: Rows.ALL}
    return flip.get(found, found) if negated else found


def _constant(node: Any) -> Rows:
    """A condition on no row: a known TRUE/FALSE, or a constant of unknown value."""
    from sqlglot import exp

    if isinstance(node, exp.Boolean):
        return Rows.ALL if node.this else Rows.NONE
    if isinstance(node, exp.Null):
        return Rows.NONE
    return Rows.CONSTANT


_SAME_IS_TRUE = ("EQ", "GTE", "LTE", "NullSafeEQ", "Is", "Like", "ILike", "Glob", "SimilarTo")
_SAME_IS_FALSE = ("NEQ", "GT", "LT", "NullSafeNEQ")


def _on_rows(node: Any, scope: _Scope) -> Rows:
    """A condition on the target's rows: a visible tautology, a limiting test, or unknown."""
    from sqlglot import exp

    if isinstance(node, exp.Escape):  # ``x LIKE 'a!%' ESCAPE '!'`` is a LIKE
        node = node.this
    name = type(node).__name__
    same = name in _SAME_IS_TRUE + _SAME_IS_FALSE
    if same and scope.key(node.this) == scope.key(node.expression):
        return Rows.ALL if name in _SAME_IS_TRUE else Rows.NONE
    if isinstance(node, exp.Like | exp.ILike) and _matches_anything(node.expression):
        return Rows.ALL
    if isinstance(node, exp.Glob) and _literal(node.expression, lambda p: set(p) <= {"*"}):
        return Rows.ALL
    if isinstance(node, exp.RegexpLike | exp.RegexpILike | exp.SimilarTo):
        return _regexp_rows(node.expression)
    itself = _self_subquery(node, scope)
    if itself is not None:
        return itself
    if isinstance(node, exp.In) and scope.key(node.this) in {
        scope.key(e) for e in node.expressions
    }:
        return Rows.ALL
    if isinstance(node, exp.Between) and (
        scope.key(node.this) == scope.key(node.args["low"]) == scope.key(node.args["high"])
    ):
        return Rows.ALL
    if isinstance(node, exp.Column):
        return Rows.SOME
    if isinstance(node, exp.Predicate):
        return Rows.SOME if _bare_operands(node, scope) else Rows.UNKNOWN
    return Rows.UNKNOWN


def _self_subquery(node: Any, scope: _Scope) -> Rows | None:
    return self_subquery_rows(node, scope, where_rows)


def _bare_operands(node: Any, scope: _Scope) -> bool:
    """Every operand that reads the row is a bare column (``id``, ``t.id``), not a function
    of one (``abs(id)``, ``id * id``): only then does the guard know what the test selects.

    Subqueries are values here (``id IN (SELECT ...)``, a correlated ``EXISTS``).
    """
    from sqlglot import exp

    for value in node.args.values():
        for operand in value if isinstance(value, list) else [value]:
            if not isinstance(operand, exp.Expression) or isinstance(operand, exp.Query):
                continue
            while isinstance(operand, exp.Paren):
                operand = operand.this
            if isinstance(operand, exp.Column | exp.Subquery):
                continue
            if scope.refers(operand)[0]:
                return False
    return True


def _literal(pattern: Any, test: Any) -> bool:
    from sqlglot import exp

    return isinstance(pattern, exp.Literal) and pattern.is_string and bool(test(pattern.this))


def _matches_anything(pattern: Any) -> bool:
    return _literal(pattern, lambda p: set(p) <= {"%"})


_REGEXP_ANCHORS = re.compile(r"[$]|\\[bBzZA]|\(\?")


def _regexp_rows(pattern: Any) -> Rows:
    """``x REGEXP '.*'`` (or ``''``, ``'a*'``, ``'^'``) matches every value: a tautology.

    A pattern that matches the empty string matches somewhere in any value, unless an anchor
    or a look-around restricts where (``'^$'``): then the guard cannot tell, and asks.
    """
    from sqlglot import exp

    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return Rows.UNKNOWN
    try:
        empty = re.search(pattern.this, "") is not None
    except (re.error, RecursionError, OverflowError):
        return Rows.UNKNOWN
    if not empty:
        return Rows.SOME
    return Rows.UNKNOWN if _REGEXP_ANCHORS.search(pattern.this) else Rows.ALL
