"""Parsing shell commands for destructive-command detection (ladder level 4).

A real parser (tree-sitter-bash, a C parser: a few microseconds per command) turns the text
into a syntax tree; regular expressions over the raw text cannot tell ``echo "rm -rf /"`` from
``rm -rf /``. Every simple command anywhere in the tree is extracted, including those inside
substitutions, subshells and control flow, so nothing destructive hides in a nested spot.

What cannot be known before the shell runs (variables, substitutions, globs, brace and tilde
expansion, escapes, here-docs, redirections, control flow) is reported as *dynamic*: a reason
to ask a human, never to allow. So is anything the parser does not understand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

MAX_COMMAND_CHARS = 4096

# Node types that change nothing about what runs: lists, pipelines, grouping, comments.
_STRUCTURE = {"program", "list", "pipeline", "subshell", "compound_statement", "comment"}
_STRUCTURE |= {"negated_command", "command_name"}
_DYNAMIC = {
    "simple_expansion": "a variable expansion",
    "expansion": "a parameter expansion",
    "command_substitution": "a command substitution",
    "process_substitution": "a process substitution",
    "arithmetic_expansion": "an arithmetic expansion",
    "ansi_c_string": "ANSI-C quoting ($'...')",
    "translated_string": 'a locale string ($"...")',
    "brace_expression": "a brace expansion",
    "variable_assignment": "a variable assignment",
    "declaration_command": "a declaration (export/declare/local)",
    "redirected_statement": "a redirection",
    "file_redirect": "a redirection",
    "heredoc_redirect": "a here-document",
    "herestring_redirect": "a here-string",
}
_UNQUOTED_SPECIAL = set("*?[]{}~\\")
# Parts of a construct already reported through its parent.
_QUIET = {"variable_name", "special_variable_name", "file_descriptor", "heredoc_start"}
_QUIET |= {"heredoc_body", "heredoc_end", "heredoc_content"}


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One simple command: its words after quote removal; ``dynamic`` if any word is unknown."""

    argv: tuple[str, ...]
    dynamic: bool = False


@dataclass(slots=True)
class ShellParse:
    """Every simple command in the text, and why the text is dynamic (empty when static)."""

    commands: list[SimpleCommand] = field(default_factory=list)
    dynamic: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _parser() -> Any:
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


def suspicious_characters(text: str) -> str | None:
    """Why the raw text cannot be trusted character by character, or None.

    Anything outside printable ASCII is refused: Cyrillic look-alikes, zero-width and
    bidirectional controls make the text read differently from what the shell executes.
    """
    for index, char in enumerate(text):
        code = ord(char)
        if code > 126 or (code < 32 and char not in "\t\n"):
            return f"character {char!r} (U+{code:04X}) at offset {index} is not plain ASCII"
    return None


def parse_shell(text: str, *, max_chars: int = MAX_COMMAND_CHARS) -> ShellParse:
    """Parse ``text`` as bash; never raises on bad input, reports it as dynamic instead."""
    out = ShellParse()
    if len(text) > max_chars:
        out.dynamic.append(f"the command is {len(text)} characters long (limit {max_chars})")
        return out
    odd = suspicious_characters(text)
    if odd:
        out.dynamic.append(odd)
        return out
    source = text.encode()
    tree = _parser().parse(source)
    if tree.root_node.has_error:
        out.dynamic.append("the shell parser cannot parse it (unbalanced quotes or syntax)")
    _walk(tree.root_node, source, out)
    return out


def _walk(node: Any, source: bytes, out: ShellParse) -> None:
    kind = node.type
    if not node.is_named or kind in _QUIET:
        return
    if kind == "command":
        out.commands.append(_command(node, source, out))
    elif kind in _DYNAMIC:
        out.dynamic.append(f"{_DYNAMIC[kind]}: {_text(node, source)[:60]!r}")
    elif kind not in _STRUCTURE and kind not in _WORDS:
        out.dynamic.append(f"shell construct {kind!r}: {_text(node, source)[:60]!r}")
    for child in node.children:
        _walk(child, source, out)


def _command(node: Any, source: bytes, out: ShellParse) -> SimpleCommand:
    argv: list[str] = []
    dynamic = False
    for child in node.named_children:
        if child.type == "command_name":
            child = child.named_children[0] if child.named_children else child
            value = _word(child, source, out, is_name=True)
        elif child.type in _WORDS:
            value = _word(child, source, out, is_name=False)
        else:
            continue  # assignments and redirects: reported as dynamic by the walk
        dynamic = dynamic or value is None
        argv.append(value if value is not None else "\x00dynamic")
    return SimpleCommand(tuple(argv), dynamic)


_WORDS = {"word", "raw_string", "string", "number", "concatenation", "string_content"}


def _word(node: Any, source: bytes, out: ShellParse, *, is_name: bool) -> str | None:
    """The word's value after quote removal, or None when the shell decides it at run time."""
    kind = node.type
    raw = _text(node, source)
    if kind in ("word", "number"):
        if _UNQUOTED_SPECIAL & set(raw):
            out.dynamic.append(f"glob, brace, tilde or escape characters in {raw[:60]!r}")
            return None
        return raw
    value: str | None = None
    if kind == "raw_string":
        value = raw[1:-1]
    elif kind == "string":
        value = _double_quoted(node, source)
    elif kind == "concatenation":
        value = _concatenation(node, source, out)
    else:
        return None
    if value is not None and is_name:
        out.dynamic.append(f"quoting inside the command name {raw[:60]!r}")
        return None
    return value


def _double_quoted(node: Any, source: bytes) -> str | None:
    if any(child.type != "string_content" for child in node.named_children):
        return None  # expansions inside: reported by the walk
    body = _text(node, source)[1:-1]
    for escaped in ('\\"', "\\\\", "\\$", "\\`"):
        body = body.replace(escaped, escaped[1])
    return body


def _concatenation(node: Any, source: bytes, out: ShellParse) -> str | None:
    parts = [_word(child, source, out, is_name=False) for child in node.named_children]
    if any(part is None for part in parts):
        return None
    return "".join(part for part in parts if part is not None)


def _text(node: Any, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode()
