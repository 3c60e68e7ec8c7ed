"""SQL that changes who may do what, or how safely the database works (ladder level 4).

A DROP or an unlimited DELETE destroys rows; these statements destroy the guarantees around
them. Judged on the tokens of each statement (:mod:`sql_tokens`), so the verdict is the same
whether sqlglot parses the statement (``GRANT ... TO public``), keeps it opaque
(``ALTER ROLE bob SUPERUSER``) or cannot parse it (``PRAGMA writable_schema=ON``,
``ATTACH DATABASE`` outside SQLite's dialect). The principle is the ladder's: deny the known
destructive, ask for the rest.

- Permissions are not the agent's to change: any ``GRANT`` or ``REVOKE`` (``ALTER DEFAULT
  PRIVILEGES ... GRANT`` too) is denied, as are a ``CREATE``/``ALTER`` of a ``USER``, ``ROLE``,
  ``GROUP`` or ``LOGIN`` that sets a credential (``PASSWORD``, ``IDENTIFIED BY``) or a
  privilege attribute (``SUPERUSER``, ``CREATEROLE``, ...) and MySQL's ``SET PASSWORD``.
  Other role statements (``CREATE ROLE readers``, ``ALTER ROLE bob SET search_path ...``) ask.
- SQLite's PRAGMAs: those that let a statement corrupt the file or switch a safety off are
  denied when set that way (``writable_schema = ON``, ``ignore_check_constraints = 1``, any
  ``schema_version = N``, ``foreign_keys = OFF``, ``journal_mode = OFF``, ``synchronous =
  OFF`` ...); reading a setting or the schema (``PRAGMA user_version``,
  ``PRAGMA table_info(users)``) is a plain read; setting anything else, and PRAGMAs that act
  (``optimize``, ``wal_checkpoint``, ``incremental_vacuum``), ask.
- ``ATTACH`` of a file opens it, and creates it when missing, wherever the database process
  may write; with ``CREATE TABLE`` and ``INSERT`` into it that is the known way to write a file
  of the attacker's choosing through SQLite: denied. ``ATTACH ':memory:'`` (a scratch database)
  and ``DETACH`` ask.
"""

from __future__ import annotations

from pytest_opsladder.guardrails.sql_tokens import (
    SqlSyntaxError,
    Token,
    statements,
    tokenize,
    top_words,
)
from pytest_opsladder.guardrails.verdicts import Decision, Verdict

_OFF = frozenset({"0", "OFF", "FALSE", "NO"})
# Set to anything but off, these let statements write a schema SQLite cannot read back, skip
# CHECK constraints, or trust functions in the schema: corruption or a safety switched off.
_UNSAFE_WHEN_ON = frozenset({"writable_schema", "ignore_check_constraints", "trusted_schema"})
# Switched off (or to these values), these lose committed data on a crash or let rows break
# their references; query_only off lifts a read-only session's protection.
_UNSAFE_VALUES: dict[str, frozenset[str]] = {
    "foreign_keys": _OFF,
    "synchronous": _OFF,
    "journal_mode": frozenset({"OFF", "MEMORY"}),
    "query_only": _OFF,
    "secure_delete": _OFF,
}
_UNSAFE_ANY_VALUE = frozenset({"schema_version"})  # SQLite's docs: setting it corrupts the file
# PRAGMAs that only report, with or without their argument (a table, an index, a row limit).
_READ_WITH_ARGUMENT = frozenset(
    {"table_info", "table_xinfo", "table_list", "index_info", "index_list", "index_xinfo"}
    | {"foreign_key_list", "foreign_key_check", "integrity_check", "quick_check"}
)
# PRAGMAs that report a setting when given no value (given one, they set it).
_READ_WITHOUT_VALUE = _READ_WITH_ARGUMENT | frozenset(
    {"application_id", "auto_vacuum", "automatic_index", "busy_timeout", "cache_size"}
    | {"cache_spill", "cell_size_check", "collation_list", "compile_options", "data_version"}
    | {"database_list", "defer_foreign_keys", "encoding", "foreign_keys", "freelist_count"}
    | {"function_list", "journal_mode", "journal_size_limit", "legacy_alter_table"}
    | {"locking_mode", "max_page_count", "mmap_size", "module_list", "page_count", "page_size"}
    | {"pragma_list", "query_only", "read_uncommitted", "recursive_triggers", "schema_version"}
    | {"secure_delete", "synchronous", "temp_store", "trusted_schema", "user_version"}
    | {"wal_autocheckpoint", "writable_schema", "ignore_check_constraints"}
)
_PRINCIPALS = frozenset({"USER", "ROLE", "GROUP", "LOGIN"})
# Attributes that hand out a credential, a power over the server or another role's rights
# (``IN ROLE admin``, ``ADMIN bob``).
_PRIVILEGED = frozenset(
    {"PASSWORD", "IDENTIFIED", "SUPERUSER", "CREATEROLE", "CREATEDB", "CREATEUSER"}
    | {"BYPASSRLS", "REPLICATION", "SYSADMIN", "ADMIN", "IN", "GRANT"}
)


def admin_decisions(sql: str) -> list[Decision]:
    """A deny or ask per statement of ``sql`` that changes permissions or database safety."""
    try:
        tokens = tokenize(sql)
    except SqlSyntaxError:
        return []  # the parser's and the token check's own asks cover unterminated SQL
    found = (_statement(s) for s in statements(tokens))
    return [d for d in found if d is not None]


def is_read_pragma(sql: str) -> bool:
    """Is ``sql`` one PRAGMA that only reports (``PRAGMA table_info(users)``)?"""
    try:
        parts = statements(tokenize(sql))
    except SqlSyntaxError:
        return False
    return len(parts) == 1 and top_words(parts[0])[:1] == ["PRAGMA"] and _pragma(parts[0]) is None


def _statement(statement: list[Token]) -> Decision | None:
    words = top_words(statement)
    text = " ".join(t.text for t in statement)[:80]
    verb = words[0] if words else ""
    if verb == "PRAGMA":
        return _pragma(statement)
    if verb in ("ATTACH", "DETACH"):
        return _attach(verb, statement, text)
    if verb in ("GRANT", "REVOKE") or (verb == "ALTER" and {"GRANT", "REVOKE"} & set(words)):
        why = f"{verb} changes permissions, which are not the agent's to change: {text!r}"
        return _deny("privileges", why)
    if words[:2] == ["SET", "PASSWORD"]:
        return _deny("credentials", f"SET PASSWORD changes a login's credential: {text!r}")
    if verb in ("CREATE", "ALTER") and words[1:2] and words[1] in _PRINCIPALS:
        return _principal(verb, words[1], _attributes(statement, words[1]), text)
    return None


def _attributes(statement: list[Token], kind: str) -> set[str]:
    """The top-level words after the role's name (a role called ``admin`` is not ADMIN)."""
    at = next(i for i, t in enumerate(statement) if t.text == kind and t.depth == 0)
    rest = statement[at + 2 :]
    while rest and rest[0].kind != "word":  # MySQL's 'bob'@'%'
        rest = rest[1:]
    return {t.text for t in rest if t.kind == "word" and t.depth == 0}


def _principal(verb: str, kind: str, attributes: set[str], text: str) -> Decision:
    power = sorted(_PRIVILEGED & attributes)
    if power:
        why = (
            f"{verb} {kind} with {', '.join(power)} hands out a credential or a privilege,"
            f" which is not the agent's to do: {text!r}"
        )
        return _deny("privileges", why)
    why = f"{verb} {kind} changes who may connect or act; a human must approve: {text!r}"
    return Decision(Verdict.ASK, "sql:roles", why)


def _pragma(statement: list[Token]) -> Decision | None:
    """``PRAGMA [schema.]name [= value | (value)]`` judged by name and value."""
    name, value = _pragma_parts(statement)
    text = " ".join(t.text for t in statement)[:80]
    if value is None or (value and name in _READ_WITH_ARGUMENT):
        if name in _READ_WITHOUT_VALUE:
            return None
        why = f"PRAGMA {name} is not one the guard knows to only report a setting: {text!r}"
        return Decision(Verdict.ASK, "sql:pragma", why)
    if _unsafe(name, value):
        why = (
            f"PRAGMA {name} = {value} can corrupt the database or switches a safety off"
            f" (writable schema, unchecked constraints or keys, no journal or sync): {text!r}"
        )
        return _deny("pragma-unsafe", why)
    why = f"PRAGMA {name} = {value} changes a database setting; a human must approve: {text!r}"
    return Decision(Verdict.ASK, "sql:pragma", why)


def _pragma_parts(statement: list[Token]) -> tuple[str, str | None]:
    """(name, value or None) of a PRAGMA: quotes, case and the schema qualifier dropped."""
    rest = statement[[t.text for t in statement].index("PRAGMA") + 1 :]
    split = next((i for i, t in enumerate(rest) if t.text in ("=", "(")), len(rest))
    names = [_unquote(t) for t in rest[:split] if t.text != "."]
    value = "".join(_unquote(t) for t in rest[split + 1 :] if t.text != ")").upper()
    return (names[-1].lower() if names else ""), (value if split < len(rest) else None)


def _unsafe(name: str, value: str) -> bool:
    if name in _UNSAFE_ANY_VALUE:
        return True
    if name in _UNSAFE_WHEN_ON:
        return value not in _OFF
    return value in _UNSAFE_VALUES.get(name, frozenset())


def _attach(verb: str, statement: list[Token], text: str) -> Decision:
    files = [_unquote(t) for t in statement if t.kind == "string"]
    scratch = verb == "DETACH" or (bool(files) and files[0] in ("", ":memory:"))
    if scratch:
        why = f"{verb} changes which databases the connection reaches: {text!r}"
        return Decision(Verdict.ASK, "sql:attach", why)
    why = (
        "ATTACH opens a database file anywhere the database process may write, and creates it"
        f" when missing (the known way to write a file through SQLite): {text!r}"
    )
    return _deny("attach", why)


def _unquote(token: Token) -> str:
    if token.kind in ("string", "ident") and len(token.text) >= 2:
        return token.text[1:-1]
    return token.text


def _deny(rule: str, why: str) -> Decision:
    return Decision(Verdict.DENY, f"sql:{rule}", why)
