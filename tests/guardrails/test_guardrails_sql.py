"""SQL parsed with a real parser, reached through any client option (issue 13, part 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_opsladder.guardrails import Policy, policy_from_dict
from pytest_opsladder.guardrails.policy_load import default_policy


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return default_policy(tmp_path)


def sql_tool(policy: Policy, query: str) -> tuple[str, str]:
    decision = policy.decide("run_sql", {"query": query})
    return decision.verdict.value, decision.rule


@pytest.mark.parametrize(
    ("query", "rule"),
    [
        ("DROP TABLE users", "sql:drop"),
        ("drop database prod", "sql:drop"),
        ("TRUNCATE orders", "sql:truncate"),
        ("ALTER TABLE users DROP COLUMN email", "sql:drop"),
        ("DELETE FROM orders", "sql:delete-without-where"),
        ("DELETE FROM orders WHERE 1", "sql:delete-without-where"),
        ("DELETE FROM orders WHERE TRUE OR id = 2", "sql:delete-without-where"),
        ("DELETE FROM orders WHERE id = id", "sql:delete-without-where"),
        ("DELETE FROM orders WHERE 'a' = 'a'", "sql:delete-without-where"),
        ("UPDATE users SET admin = 1 WHERE NOT FALSE", "sql:update-without-where"),
        ("delete from t -- where id = 1", "sql:delete-without-where"),
        ("SELECT 1; DROP TABLE t", "sql:drop"),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "sql:delete-without-where"),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "sql:merge-delete"),
        ("DO $$ BEGIN DROP TABLE x; END $$", "sql:drop"),
    ],
)
def test_destructive_sql_is_denied(policy: Policy, query: str, rule: str) -> None:
    assert sql_tool(policy, query) == ("deny", rule)


@pytest.mark.parametrize(
    "query", ["DO $$ BEGIN PERFORM cleanup(); END $$", "SELECT 'unterminated", "EXPLAIN x y z"]
)
def test_procedural_blocks_and_unparseable_sql_ask(policy: Policy, query: str) -> None:
    verdict, rule = sql_tool(policy, query)
    assert (verdict, rule in ("sql:procedural", "sql:unparseable")) == ("ask", True)


def test_a_procedural_block_through_psql_asks(policy: Policy) -> None:
    line = shell(policy, "psql -c 'DO $$ BEGIN PERFORM cleanup(); END $$'")
    assert line.startswith("ask sql:procedural")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM orders",
        "SELECT 'DROP TABLE x' AS text",
        "DELETE FROM orders WHERE id = 7",
        "UPDATE users SET name = 'x' WHERE id = 3",
        "INSERT INTO t VALUES (1)",
    ],
)
def test_sql_with_a_limiting_where_is_left_to_the_tool_rule(policy: Policy, query: str) -> None:
    assert sql_tool(policy, query) == ("allow", "sql-checked")


def shell(policy: Policy, command: str) -> str:
    return policy.decide("run_shell", {"command": command}).line()


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("sqlite3 -cmd 'select 1' app.db 'DROP TABLE drafts'", "deny sql:drop"),
        ("sqlite3 -separator , app.db 'DROP TABLE drafts'", "deny sql:drop"),
        ("sqlite3 app.db '.shell rm -rf /'", "deny sql:client-shell: sqlite3 .shell"),
        ("sqlite3 app.db '.once |sh'", "deny sql:client-shell"),
        ("sqlite3 app.db 'DELETE FROM drafts WHERE 1'", "deny sql:delete-without-where"),
        ("psql -c 'select 1' -c 'DROP TABLE x'", "deny sql:drop"),
        ("psql --comm 'TRUNCATE orders'", "deny sql:truncate"),
        ("psql -c '\\! rm -rf /'", "deny sql:client-shell: psql \\! runs a shell command"),
        ("psql -c 'DO $$ BEGIN DROP TABLE x; END $$'", "deny sql:drop"),
        ("psql -c \"COPY t TO PROGRAM 'rm -rf /'\"", "deny sql:copy-program"),
        ("mysql -e 'system rm -rf /'", "deny sql:client-shell: mysql system"),
        ("mysql -e'DROP TABLE t'", "deny sql:drop"),
        ("mysql --init-command='DROP TABLE t' app", "deny sql:drop"),
        ("duckdb app.duckdb 'DROP TABLE events'", "deny sql:drop"),
        ("sqlite3 app.db <<EOF\nDROP TABLE users;\nEOF", "deny sql:drop"),
        ("sqlite3 app.db <<< 'DROP TABLE users'", "deny sql:drop"),
        ("echo 'DROP TABLE users;' | sqlite3 app.db", "deny sql:drop"),
        ("cat drop.sql | sqlite3 app.db", "ask sql:unseen"),
        ("psql -f drop.sql", "ask sql:unseen"),
        ("sqlite3 app.db 'INSERT INTO t VALUES (1)'", "ask sql:not-read-only"),
        ("sqlite3 app.db 'SELECT load_extension(1)'", "ask sql:not-read-only"),
        ("sqlite3 db '.sh rm -rf /'", "deny sql:client-shell: sqlite3 .sh runs a shell"),
        ("sqlite3 db '.sys rm -rf /'", "deny sql:client-shell: sqlite3 .sys runs a shell"),
        ("sqlite3 db '.shel rm -rf /'", "deny sql:client-shell"),
        ("sqlite3 db '.o |sh'", "deny sql:client-shell: sqlite3 .o runs a shell"),
        ("duckdb db '.syst rm -rf /'", "deny sql:client-shell"),
        ("mysql -e 'SELECT 1 \\P rm -rf /'", "deny sql:client-shell: mysql \\P runs a shell"),
        ("psql -c '\\echo `rm -rf /`'", "deny sql:client-shell: psql runs the text in backquotes"),
        ("psql -c \"\\copy t from program 'rm -rf /'\"", "deny sql:copy-program"),
    ],
)
def test_sql_clients_are_checked_through_every_option(
    policy: Policy, command: str, line: str
) -> None:
    assert shell(policy, command).startswith(line)


@pytest.mark.parametrize(
    "command",
    [
        "sqlite3 app.db 'SELECT count(*) FROM drafts'",
        "sqlite3 -header -csv app.db 'select * from t limit 5'",
        "sqlite3 app.db .tables",
        "psql -d app -c 'SELECT 1'",
        "psql -c '\\dt'",
        "mysql -e 'SELECT * FROM users LIMIT 1'",
    ],
)
def test_read_only_queries_through_clients_are_allowed(policy: Policy, command: str) -> None:
    assert shell(policy, command).startswith("allow")


def test_a_sql_tool_of_a_user_policy_is_parsed_in_the_generic_dialect() -> None:
    policy = policy_from_dict(
        {
            "rules": [{"id": "sql", "tools": ["q"], "decision": "allow"}],
            "sql": {"tools": ["q"], "arg": "sql"},
        }
    )
    assert policy.decide("q", {"sql": "truncate table t"}).rule == "sql:truncate"


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM t WHERE 2>1",
        "DELETE FROM t WHERE 1+1",
        "DELETE FROM t WHERE -1",
        "DELETE FROM t WHERE 1 IN (1)",
        "DELETE FROM t WHERE 1 BETWEEN 0 AND 2",
        "DELETE FROM t WHERE COALESCE(NULL, 1)",
        "DELETE FROM t WHERE 'x' LIKE '%'",
        "DELETE FROM t WHERE CAST(1 AS BOOLEAN)",
        "DELETE FROM t WHERE true::bool",
        "DELETE FROM t WHERE NOT (id <> id)",
        "DELETE FROM t WHERE id = 1 OR NOT id = 1",
        'DELETE FROM t WHERE "id" = id',
        "DELETE FROM t WHERE EXISTS (SELECT 1)",
        "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.x = 1)",
        "DELETE FROM t WHERE EXISTS (SELECT 1 FROM t WHERE t.x = 1)",  # the inner t
        "DELETE FROM t WHERE id = 1 OR EXISTS (SELECT 1 FROM u)",
        "DELETE FROM t USING u WHERE u.x = 1",  # every row of t once one u matches
        "DELETE FROM t WHERE id <= id * 1",
        "DELETE FROM t WHERE t.id = id",
        "DELETE FROM t WHERE id = id + 0",
        "DELETE FROM t WHERE x IS NULL OR x IS NOT NULL",
        "DELETE FROM t WHERE id < 5 OR id >= 5",
        "DELETE FROM t WHERE 5 > id OR 5 <= id",
        "DELETE FROM t WHERE name LIKE '%'",
        "DELETE FROM t WHERE id IN (id, 2)",
        "DELETE FROM t WHERE NOT (id = 1 AND 1 = 0)",
        "DELETE FROM t WHERE ? > 0",
    ],
)
def test_a_where_that_does_not_limit_the_rows_is_denied(policy: Policy, query: str) -> None:
    assert sql_tool(policy, query) == ("deny", "sql:delete-without-where")


@pytest.mark.parametrize(
    "query", ["UPDATE t SET a = 0 WHERE 2 > 1", "UPDATE t SET a = 0 WHERE 'a' < 'b' OR a = 1"]
)
def test_an_update_whose_where_does_not_limit_is_denied(policy: Policy, query: str) -> None:
    assert sql_tool(policy, query) == ("deny", "sql:update-without-where")


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM t WHERE CASE WHEN id = 1 THEN 1 ELSE 1 END",
        "DELETE FROM t WHERE is_expired(created_at)",
        "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE tid = id)",  # u.id or t.id?
    ],
)
def test_a_where_the_guard_cannot_judge_asks(policy: Policy, query: str) -> None:
    assert sql_tool(policy, query)[0] == "ask"


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM t WHERE abs(id) >= 0",  # every row, but only the function's meaning shows it
        "DELETE FROM t WHERE length(name) >= 0",
        "DELETE FROM t WHERE id * id >= 0",
        "DELETE FROM t WHERE CAST(id AS TEXT) <> ''",
        "DELETE FROM t WHERE coalesce(deleted_at, 0) >= 0",
        "UPDATE t SET a = 0 WHERE length(name) < 1000000",
        "DELETE FROM t WHERE id = 1 OR abs(id) >= 0",
        "DELETE FROM t WHERE name REGEXP '^$'",
    ],
)
def test_a_comparison_of_a_function_of_a_column_asks(policy: Policy, query: str) -> None:
    assert sql_tool(policy, query) == ("ask", "sql:where-unclear")


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM t WHERE created_at < now() - interval '7 days'",  # the function is a value
        "DELETE FROM t WHERE (id) = 3",
        "DELETE FROM t WHERE id = 1 AND abs(x) >= 0",  # the bare column limits
        "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.tid = t.id)",
        "DELETE FROM t WHERE name REGEXP '^a'",
        "UPDATE t SET a = 0 WHERE updated_at < created_at",
    ],
)
def test_a_comparison_of_bare_columns_still_limits(policy: Policy, query: str) -> None:
    assert sql_tool(policy, query) == ("allow", "sql-checked")


@pytest.mark.parametrize(
    "query", ["DELETE FROM t WHERE name GLOB '*'", "DELETE FROM t WHERE name REGEXP '.*'"]
)
def test_a_pattern_that_matches_every_value_is_denied(policy: Policy, query: str) -> None:
    assert sql_tool(policy, query) == ("deny", "sql:delete-without-where")


@pytest.mark.parametrize(
    ("query", "rule"),
    [
        ("EXEC('DROP TABLE t')", "sql:drop"),
        ("EXECUTE('DROP TABLE t')", "sql:drop"),
        ("PREPARE s FROM 'DROP TABLE t'", "sql:drop"),
        ("SELECT dblink_exec('DROP TABLE t')", "sql:drop"),
        ("SELECT query_to_xml('DELETE FROM t', true, true, '')", "sql:delete-without-where"),
        ("DELETE FROM t WHERE id = 1 /*! OR 1=1 */", "sql:delete-without-where"),
        ("SELECT 1 /*! ; DROP TABLE t */", "sql:drop"),
        ("SELECT 1 /*!50000 ; TRUNCATE t */", "sql:truncate"),
        ("SELECT 1 /*M! ; DROP TABLE t */", "sql:drop"),
    ],
)
def test_sql_hidden_in_text_or_executable_comments_is_denied(
    policy: Policy, query: str, rule: str
) -> None:
    assert sql_tool(policy, query) == ("deny", rule)


@pytest.mark.parametrize(
    ("query", "rule"),
    [
        ("SELECT load_extension('/tmp/evil.so')", "sql:function"),
        ("SELECT writefile('/home/u/.bashrc', 'x')", "sql:function"),
        ("SELECT pg_read_file('/etc/passwd')", "sql:function"),
        ("SELECT nextval('orders_id_seq')", "sql:function"),
        ("SELECT name FROM t WHERE sleep(5) = 0", "sql:function"),
        ("EXEC('SELECT 1')", "sql:not-a-statement"),
        ("CALL cleanup()", "sql:dynamic"),
        ("COPY t TO '/tmp/x'", "sql:server-files"),
        ("SELECT * FROM t /*! INTO OUTFILE '/tmp/x' */", "sql:executable-comment"),
    ],
)
def test_functions_and_statements_with_unknown_effects_ask(
    policy: Policy, query: str, rule: str
) -> None:
    assert sql_tool(policy, query) == ("ask", rule)


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("mysql -e \"SELECT * FROM t /*! INTO OUTFILE '/tmp/x' */\"", "ask sql:executable-comment"),
        ("mysql -e 'SELECT 1 /*!50000 ; DROP TABLE t */'", "deny sql:drop"),
        ("mysql -e 'select 1; delete from t'", "deny sql:delete-without-where"),
        ("psql -c \"SELECT dblink_exec('DROP TABLE t')\"", "deny sql:drop"),
    ],
)
def test_hidden_sql_through_clients(policy: Policy, command: str, line: str) -> None:
    assert shell(policy, command).startswith(line)
