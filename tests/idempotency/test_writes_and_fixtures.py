"""Upserts, undeclared writes as no-ops, the fixtures and the CLI of ladder level 2."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pytest_opsladder import Case, Run, Variant, tool
from pytest_opsladder.capture.boundary import ToolBoundary
from pytest_opsladder.capture.run import activate
from pytest_opsladder.cli import main
from pytest_opsladder.idempotency import IdempotencyStore, declared_writes, execute, sqlite_upsert

sent: list[str] = []


@tool(outbound=True)
def send_email(to: str, body: str) -> str:
    sent.append(to)
    return "sent"


@tool(outbound=True)
def delete_account(user: str, api_key: str) -> str:
    sent.append(f"deleted {user}")
    return "deleted"


@tool
def lookup(user: str) -> str:
    return f"user {user}"


def test_an_upsert_with_an_existing_key_updates_and_never_inserts(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "w.sqlite", isolation_level=None)
    conn.execute("CREATE TABLE orders (key TEXT PRIMARY KEY, status TEXT, n INTEGER)")
    sqlite_upsert(conn, "orders", "key", "k1", {"status": "new", "n": 1})
    sqlite_upsert(conn, "orders", "key", "k1", {"status": "paid", "n": 2})
    assert conn.execute("SELECT * FROM orders").fetchall() == [("k1", "paid", 2)]


def test_upsert_refuses_identifiers_that_are_not_plain(tmp_path: Path) -> None:
    from pytest_opsladder.idempotency import IdempotencyConfigError

    conn = sqlite3.connect(tmp_path / "w.sqlite")
    with pytest.raises(IdempotencyConfigError, match="orders; DROP"):
        sqlite_upsert(conn, "orders; DROP TABLE x", "key", "k", {})


def test_an_undeclared_write_is_a_no_op_with_a_warning_in_the_run() -> None:
    sent.clear()
    run = Run(Case("c"), Variant("v"))
    run.boundary = ToolBoundary()
    with activate(run), declared_writes("send_email"):
        assert send_email("a@example.com", "hi") == "sent"
        assert delete_account("bob", api_key="sk-abcdefghijklmnopqrstuvwx") is None
        assert lookup("bob") == "user bob"
    assert sent == ["a@example.com"]
    warning = run.events_of("undeclared_write")[0]
    assert warning.name == "delete_account"
    assert warning.data["level"] == "warning"
    assert "sk-abc" not in json.dumps(warning.data)
    assert [e.name for e in run.events_of("tool_call")] == ["send_email", "lookup"]
    run.finish()
    assert run.metrics["undeclared_writes"] == 1
    assert isinstance(run.boundary, ToolBoundary)
    assert type(run.boundary) is ToolBoundary


def test_an_undeclared_async_write_is_a_no_op_too() -> None:
    import asyncio

    @tool(outbound=True)
    async def publish(post: str) -> str:
        sent.append(post)
        return "published"

    sent.clear()
    run = Run(Case("c"), Variant("v"))
    run.boundary = ToolBoundary()

    async def agent() -> object:
        with declared_writes():
            return await publish("draft")

    with activate(run):
        assert asyncio.run(agent()) is None
    assert sent == []
    assert run.events_of("undeclared_write")[0].name == "publish"


def test_declared_writes_needs_a_run() -> None:
    from pytest_opsladder.exceptions import NoActiveRunError

    with pytest.raises(NoActiveRunError), declared_writes("x"):
        pass


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_assert_idempotent_passes_for_an_upsert_and_fails_for_an_insert(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.makepyfile(
        """
        import sqlite3
        from pytest_opsladder.idempotency import idempotent, sqlite_upsert

        def make(tmp_path):
            conn = sqlite3.connect(tmp_path / "w.sqlite", isolation_level=None)
            conn.execute("CREATE TABLE t (key TEXT PRIMARY KEY, v TEXT)")
            return conn, lambda: conn.execute("SELECT * FROM t ORDER BY key").fetchall()

        def test_upsert_job(assert_idempotent, tmp_path):
            conn, snapshot = make(tmp_path)
            assert_idempotent(lambda: sqlite_upsert(conn, "t", "key", "a", {"v": "1"}), snapshot)

        def test_guarded_insert_job(assert_idempotent, opsladder_idempotency, tmp_path):
            conn, snapshot = make(tmp_path)
            @idempotent("insert")
            def job(n):
                conn.execute("INSERT INTO t VALUES (?, ?)", (f"k{len(snapshot())}", n))
            assert_idempotent(lambda: job(1), snapshot)
            assert opsladder_idempotency.clock() == 1767614400.0

        def test_insert_job(assert_idempotent, tmp_path):
            conn, snapshot = make(tmp_path)
            job = lambda: conn.execute("INSERT INTO t VALUES (?, 'x')", (str(len(snapshot())),))
            assert_idempotent(job, snapshot)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", *xdist)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*not idempotent: running it a second time changed the world*"])
    result.stdout.fnmatch_lines(['*+*"1",*'])


def test_cli_lists_shows_and_clears_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.sqlite"
    store = IdempotencyStore.open(path, workflow="billing")
    execute(store, store.key("refund", {"o": 1}), {"o": 1}, lambda: "r1")
    execute(store, "manual", {}, lambda: "r2")
    assert main(["idempotency", "list", str(path)]) == 0
    out = capsys.readouterr().out
    assert "completed" in out
    assert "billing:manual" in out
    assert "2 key(s)" in out
    assert main(["idempotency", "show", str(path), "billing:manual"]) == 0
    assert json.loads(capsys.readouterr().out)["result"] == '"r2"'
    assert main(["idempotency", "clear", str(path), "--key", "billing:manual"]) == 0
    assert "cleared 1 key(s)" in capsys.readouterr().out
    assert main(["idempotency", "show", str(path), "billing:manual"]) == 2
    assert "no key 'billing:manual'" in capsys.readouterr().err
    assert main(["idempotency", "clear", str(path), "--all"]) == 0
    assert store.backend.records() == []
