"""Guarded writes (ladder level 2): upserts by key, and undeclared writes turned into no-ops.

:func:`sqlite_upsert` is the write shape the rung asks for: a key that exists is updated, never
inserted twice, so re-running a job leaves the world as it was.

:func:`declared_writes` scopes a run to the outbound tools a workflow declared: any other
``@tool(outbound=True)`` call is skipped (it returns ``None`` without executing) and an
``undeclared_write`` warning event is recorded in the run, so a surprising write shows up in the
cassette and its metrics instead of in production.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture.boundary import ToolBoundary
from pytest_opsladder.capture.run import require_run
from pytest_opsladder.idempotency.errors import IdempotencyConfigError
from pytest_opsladder.idempotency.events import UNDECLARED_WRITE
from pytest_opsladder.observability.redaction import redact

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.tools import ToolSpec

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise IdempotencyConfigError(
            f"{name!r} is not a plain SQL identifier (letters, digits, '_'); upsert builds its "
            "statement from table and column names, so only plain identifiers are accepted."
        )
    return name


def sqlite_upsert(
    conn: sqlite3.Connection, table: str, key_column: str, key: str, values: dict[str, Any]
) -> None:
    """Insert ``values`` under ``key``, or update the row that has it (needs a UNIQUE key)."""
    cols = [_ident(key_column), *(_ident(c) for c in values)]
    updates = ", ".join(f"{c}=excluded.{c}" for c in cols[1:]) or f"{cols[0]}=excluded.{cols[0]}"
    conn.execute(
        f"INSERT INTO {_ident(table)} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT({cols[0]}) DO UPDATE SET {updates}",
        (key, *values.values()),
    )


class _DeclaredWritesBoundary(ToolBoundary):
    """Delegates to the run's boundary; skips outbound tools that were not declared."""

    def __init__(self, inner: ToolBoundary, declared: frozenset[str]) -> None:
        self._inner = inner
        self._declared = declared

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _skip(self, run: Run, spec: ToolSpec, args: dict[str, Any]) -> bool:
        if not spec.outbound or spec.name in self._declared:
            return False
        run.emit(
            UNDECLARED_WRITE,
            spec.name,
            {
                "level": "warning",
                "message": f"outbound tool {spec.name!r} is not declared by this workflow; "
                "the call was skipped (no-op). Declare it to allow it.",
                "declared": sorted(self._declared),
                "args": redact({k: repr(v)[:200] for k, v in args.items()}),
            },
        )
        return True

    def call(
        self, run: Run, spec: ToolSpec, args: dict[str, Any], a: tuple[Any, ...], kw: dict[str, Any]
    ) -> Any:
        return None if self._skip(run, spec, args) else self._inner.call(run, spec, args, a, kw)

    async def acall(
        self, run: Run, spec: ToolSpec, args: dict[str, Any], a: tuple[Any, ...], kw: dict[str, Any]
    ) -> Any:
        if self._skip(run, spec, args):
            return None
        return await self._inner.acall(run, spec, args, a, kw)


@contextmanager
def declared_writes(*tools: str, run: Run | None = None) -> Iterator[Run]:
    """Within the block, outbound tools other than ``tools`` are no-ops with a warning event."""
    target = run or require_run()
    inner = target.boundary or ToolBoundary()
    target.boundary = _DeclaredWritesBoundary(inner, frozenset(tools))
    try:
        yield target
    finally:
        target.boundary = inner
