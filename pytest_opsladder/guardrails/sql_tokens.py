"""The token-level SQL check (ladder level 4), kept behind the real parser of :mod:`sql_detect`.

When sqlglot cannot look into a statement (a PL/pgSQL ``DO $$ ... $$`` block, syntax it does
not know), this check still denies DROP, TRUNCATE, ALTER ... DROP and DELETE/UPDATE without
WHERE in it, statement by statement, after the words that open a block (``DO``, ``BEGIN`` ...).
A small tokenizer, not a regex over the text: string literals, quoted identifiers and comments
are consumed as whole tokens, so ``SELECT 'DROP TABLE x'`` is a select and
``DELETE FROM t -- WHERE id = 1`` has no WHERE. Keywords only count at parenthesis depth 0 of
their statement, so a WHERE inside a sub-select does not make an outer DELETE safe.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_opsladder.guardrails.verdicts import Decision, Verdict

_QUOTES = {"'": "'", '"': '"', "`": "`", "[": "]"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # word, string, ident, punct
    text: str
    depth: int


class SqlSyntaxError(ValueError):
    """The SQL cannot be tokenized (an unterminated string or comment)."""


def tokenize(sql: str) -> list[Token]:
    """Tokens with their parenthesis depth; raises :class:`SqlSyntaxError` when unterminated."""
    tokens: list[Token] = []
    i, depth = 0, 0
    while i < len(sql):
        char = sql[i]
        if char.isspace():
            i += 1
        elif sql.startswith("--", i):
            i = _skip_to(sql, "\n", i, required=False)
        elif sql.startswith("/*", i):
            i = _skip_to(sql, "*/", i + 2, required=True)
        elif char in _QUOTES:
            end = _skip_to(sql, _QUOTES[char], i + 1, required=True)
            tokens.append(Token("string" if char == "'" else "ident", sql[i:end], depth))
            i = end
        elif char.isalpha() or char == "_":
            end = i
            while end < len(sql) and (sql[end].isalnum() or sql[end] in "_$"):
                end += 1
            tokens.append(Token("word", sql[i:end].upper(), depth))
            i = end
        else:
            depth += (char == "(") - (char == ")")
            tokens.append(Token("punct", char, depth))
            i += 1
    return tokens


def _skip_to(sql: str, end: str, start: int, *, required: bool) -> int:
    found = sql.find(end, start)
    if found < 0:
        if required:
            raise SqlSyntaxError(f"unterminated {end!r} after offset {start}")
        return len(sql)
    return found + len(end)


def statements(tokens: list[Token]) -> list[list[Token]]:
    """Split on top-level semicolons; empty statements are dropped."""
    out: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind == "punct" and token.text == ";" and token.depth == 0:
            out.append([])
        else:
            out[-1].append(token)
    return [s for s in out if s]


def token_decisions(sql: str, *, origin: str = "sql") -> list[Decision]:
    """A deny per destructive statement; an ask when the SQL cannot be tokenized."""
    try:
        tokens = tokenize(sql)
    except SqlSyntaxError as exc:
        return [Decision(Verdict.ASK, f"{origin}:unparseable", f"cannot tokenize SQL: {exc}")]
    found: list[Decision] = []
    for statement in statements(tokens):
        decision = _statement(statement, origin)
        if decision is not None:
            found.append(decision)
    return found


_BLOCK_OPENERS = {"DO", "BEGIN", "DECLARE", "THEN", "ELSE", "LOOP", "EXECUTE", "IMMEDIATE"}


def top_words(statement: list[Token]) -> list[str]:
    words = [t.text for t in statement if t.kind == "word" and t.depth == 0]
    while words and words[0] in _BLOCK_OPENERS:
        words = words[1:]
    return words


def _statement(statement: list[Token], origin: str) -> Decision | None:
    words = top_words(statement)
    verb = _main_verb(words)
    text = " ".join(t.text for t in statement)[:80]
    if verb in ("DROP", "TRUNCATE"):
        return Decision(Verdict.DENY, f"{origin}:{verb.lower()}", f"{verb} destroys data: {text!r}")
    if verb == "ALTER" and "DROP" in words:
        return Decision(Verdict.DENY, f"{origin}:alter-drop", f"ALTER ... DROP: {text!r}")
    if verb in ("DELETE", "UPDATE") and not _has_real_where(statement):
        rule = f"{origin}:{verb.lower()}-without-where"
        return Decision(Verdict.DENY, rule, f"{verb} without a WHERE touches every row: {text!r}")
    return None


def _main_verb(words: list[str]) -> str | None:
    """The statement's verb; after ``WITH name AS (...)`` it is the first verb at depth 0."""
    verbs = ("SELECT", "INSERT", "UPDATE", "DELETE", "DROP", "TRUNCATE", "ALTER", "MERGE")
    if not words:
        return None
    if words[0] != "WITH":
        return words[0]
    return next((w for w in words[1:] if w in verbs), None)


def _has_real_where(statement: list[Token]) -> bool:
    """A top-level WHERE that is not trivially true (``WHERE 1=1``, ``WHERE TRUE``)."""
    top = [t for t in statement if t.depth == 0]
    for index, token in enumerate(top):
        if token.kind == "word" and token.text == "WHERE":
            rest = "".join(t.text for t in top[index + 1 : index + 4])
            return rest not in ("TRUE", "1=1") and index + 1 < len(top)
    return False
