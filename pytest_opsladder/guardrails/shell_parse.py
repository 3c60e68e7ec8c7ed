"""Parsing shell commands for destructive-command detection (ladder level 4).

A real parser (tree-sitter-bash, a C parser: a few microseconds per command) turns the text
into a syntax tree; regular expressions over the raw text cannot tell ``echo "rm -rf /"`` from
``rm -rf /``. Every simple command anywhere in the tree is extracted, including those inside
substitutions, subshells and control flow, so nothing destructive hides in a nested spot.

What cannot be known before the shell runs (variables, substitutions, globs, brace and tilde
expansion, escapes, here-docs, redirections, control flow) is reported as *dynamic*: a reason
to ask a human, never to allow. So is anything the parser does not understand. Two
redirections change nothing outside the process and stay static: duplicating a descriptor
(``2>&1``) and discarding into ``/dev/null``. What a command reads on standard input (a
here-doc, a here-string, ``echo TEXT |``) is kept with it, so a SQL client's input is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from pytest_opsladder.guardrails import shell_remote as remote
from pytest_opsladder.guardrails.shell_context import DYNAMIC, MAX_COMMAND_CHARS, Stdin

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
    "heredoc_redirect": "a here-document",
    "herestring_redirect": "a here-string",
}
_STATIC_TARGETS = {"/dev/null"}
_NO_STDIN = Stdin()
# Words bash passes on unchanged though they hold special characters: find's ``{}`` and ``\;``.
_LITERAL_WORDS = {"{}": "{}", "\\;": ";", "\\+": "+"}
# Globs, braces, escapes, and ~ where bash expands it: at a word's start, after = or :
# (``HEAD~1`` is text).
_EXPANDS = re.compile(r"[*?\[\]{}\\]|^~|[=:]~")
_NOT_PLAIN = re.compile(r"[^\t\n\x20-\x7e]")
# Parts of a construct already reported through its parent.
_QUIET = {"variable_name", "special_variable_name", "file_descriptor", "heredoc_start"}
_QUIET |= {"heredoc_body", "heredoc_end", "heredoc_content"}


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One simple command: its words after quote removal; ``dynamic`` if any word is unknown."""

    argv: tuple[str, ...]
    dynamic: bool = False
    stdin: Stdin = field(default_factory=Stdin)


@dataclass(slots=True)
class ShellParse:
    """Every simple command in the text, and why the text is dynamic (empty when static)."""

    commands: list[SimpleCommand] = field(default_factory=list)
    dynamic: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)  # files written (or opened) by redirection
    reads: list[str] = field(default_factory=list)  # files only read by redirection (``<``)
    remote_code: list[str] = field(default_factory=list)  # why fetched content runs as code
    fork_bombs: list[str] = field(default_factory=list)  # functions that fork themselves


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
    found = _NOT_PLAIN.search(text)
    if found is None:
        return None
    char, index = found.group(), found.start()
    return f"character {char!r} (U+{ord(char):04X}) at offset {index} is not plain ASCII"


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
    tree = _parser().parse(text.encode())
    if tree.root_node.has_error:
        out.dynamic.append("the shell parser cannot parse it (unbalanced quotes or syntax)")
    # The text is printable ASCII (checked above), so byte offsets are character offsets and
    # every node's text is a slice of the string, with no decoding.
    _walk(tree.root_node, text, out)
    return out


def _walk(node: Any, source: str, out: ShellParse) -> None:
    kind = node.type
    if not node.is_named or kind in _QUIET:
        return
    if kind == "command":
        out.commands.append(_command(node, source, out))
    elif kind == "pipeline":
        return _pipeline(node, source, out)
    elif kind == "redirected_statement":
        return _redirected(node, source, out)
    elif kind == "file_redirect":
        return _file_redirect(node, source, out)
    elif kind == "test_command" and node.children and node.children[0].type == "[":
        return _test_command(node, source, out)
    elif kind == "function_definition" and _forks_itself(node, source):
        text = _text(node, source)[:60]
        why = f"the function forks copies of itself until the machine stops: {text!r}"
        out.fork_bombs.append(why)
    elif kind in _DYNAMIC:
        out.dynamic.append(f"{_DYNAMIC[kind]}: {_text(node, source)[:60]!r}")
    elif kind not in _STRUCTURE and kind not in _WORDS:
        out.dynamic.append(f"shell construct {kind!r}: {_text(node, source)[:60]!r}")
    for child in node.named_children:  # anonymous nodes are tokens: leaves, never commands
        _walk(child, source, out)


def _forks_itself(node: Any, source: str) -> bool:
    """A fork bomb (``:(){ :|:& };:``): the body runs the function itself in a pipeline or in
    the background, so every call starts more processes running it."""
    name, body = node.child_by_field_name("name"), node.child_by_field_name("body")
    if name is None or body is None:
        return False
    calls = [c for c in _descendants(body) if c.type == "command_name"]
    return any(_text(c, source) == _text(name, source) and _forked(c.parent, body) for c in calls)


def _descendants(node: Any) -> list[Any]:
    out = []
    for child in node.named_children:
        out += [child, *_descendants(child)]
    return out


def _forked(command: Any, body: Any) -> bool:
    sibling = command.next_sibling
    if sibling is not None and sibling.type == "&":
        return True
    node = command.parent
    while node is not None and node is not body.parent:
        if node.type == "pipeline" or (node.next_sibling and node.next_sibling.type == "&"):
            return True
        node = node.parent
    return False


def _command(node: Any, source: str, out: ShellParse) -> SimpleCommand:
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
        argv.append(value if value is not None else DYNAMIC)
    stdin = _NO_STDIN if "<<<" not in _text(node, source) else _here_string(node, source, out)
    why = remote.substituted(argv, _substituted_fetchers(node, source))
    out.remote_code += [why] if why else []
    return SimpleCommand(tuple(argv), dynamic, stdin)


_SUBSTITUTIONS = {"command_substitution", "process_substitution"}


def _substituted_fetchers(node: Any, source: str) -> list[str]:
    """The downloading programs inside the command's substitutions (``$(curl URL)``)."""
    found: list[str] = []
    stack = list(node.named_children)
    while stack:
        child = stack.pop()
        if child.type in _SUBSTITUTIONS:
            inner = ShellParse()
            for part in child.named_children:
                _walk(part, source, inner)
            found += [str(remote.program(c.argv)) for c in inner.commands if remote.fetches(c.argv)]
        else:
            stack.extend(child.named_children)
    return found


def _test_command(node: Any, source: str, out: ShellParse) -> None:
    """``[ -f x ]`` is the command ``[`` (``test``); tree-sitter parses it as an expression.

    ``[[ ... ]]`` stays a shell construct (it asks): its operands are expanded differently.
    """
    argv = ["["]
    _test_words(node, source, out, argv)
    out.commands.append(SimpleCommand((*argv, "]"), DYNAMIC in argv))


_TEST_EXPRESSIONS = {"unary_expression", "binary_expression", "parenthesized_expression"}


def _test_words(node: Any, source: str, out: ShellParse, argv: list[str]) -> None:
    for child in node.children:
        if child.type in ("[", "]") and child.parent.type == "test_command":
            continue
        if child.type in _WORDS:
            value = _word(child, source, out, is_name=False)
            argv.append(value if value is not None else DYNAMIC)
            _walk(child, source, out)  # expansions inside are reported, substitutions kept
        elif child.type in _TEST_EXPRESSIONS:
            _test_words(child, source, out, argv)
        elif child.type == "test_operator" or not child.is_named:
            argv.append(_text(child, source))
        else:
            argv.append(DYNAMIC)
            out.dynamic.append(f"shell construct {child.type!r}: {_text(child, source)[:60]!r}")
            _walk(child, source, out)


def _here_string(node: Any, source: str, out: ShellParse) -> Stdin:
    for child in node.named_children:
        if child.type == "herestring_redirect" and child.named_children:
            text = _word(child.named_children[-1], source, out, is_name=False)
            return Stdin(None if text is None else text + "\n", True)
    return Stdin()


def _pipeline(node: Any, source: str, out: ShellParse) -> None:
    """Each part after a ``|`` reads the previous part's output: known text for echo/printf."""
    previous: SimpleCommand | None = None
    fetcher: SimpleCommand | None = None  # a download upstream flows through every filter
    for child in node.named_children:
        start = len(out.commands)
        _walk(child, source, out)
        if previous is not None and start < len(out.commands):
            why = remote.piped((fetcher or previous).argv, out.commands[start].argv)
            out.remote_code += [why] if why else []
            piped = Stdin(_printed(previous), True)
            out.commands[start] = replace(out.commands[start], stdin=piped)
        previous = out.commands[start] if start < len(out.commands) else None
        if previous is not None and fetcher is None and remote.fetches(previous.argv):
            fetcher = previous


def _printed(command: SimpleCommand) -> str | None:
    """What ``echo WORDS`` or ``printf TEXT`` (no directives) writes, else None (unknown)."""
    argv = command.argv
    if command.dynamic or len(argv) < 2 or command.stdin.present:
        return None
    if argv[0] == "printf" and "%" not in argv[1]:
        return argv[1].replace("\\n", "\n").replace("\\t", "\t")
    if argv[0] != "echo":
        return None
    words = [a for a in argv[1:] if a not in ("-n", "-e", "-E")]
    return " ".join(words) + "\n"


def _redirected(node: Any, source: str, out: ShellParse) -> None:
    start = len(out.commands)
    body = ""
    for child in node.named_children:
        _walk(child, source, out)
        if child.type == "heredoc_redirect":
            body += _heredoc(child, source, out)
    if body and start < len(out.commands):
        out.commands[start] = replace(out.commands[start], stdin=Stdin(body, True))


def _heredoc(node: Any, source: str, out: ShellParse) -> str:
    """A here-document's body; with an unquoted delimiter its substitutions run (as commands).

    Bash expands such a body as it expands a double-quoted string, so the body is parsed as
    one (tree-sitter-bash leaves backquotes in a body unparsed) and every command inside a
    ``$(...)`` or backquote is kept: ``cat <<EOF`` with ``$(rm -rf /)`` in it is a deletion.
    """
    parts = {child.type: _text(child, source) for child in node.named_children}
    body = parts.get("heredoc_body", "")
    quoted = any(c in parts.get("heredoc_start", "") for c in "'\\\"")
    if quoted or not ("$" in body or "`" in body):
        return body
    inner = ShellParse()
    text = ': "' + body.replace('"', '\\"') + '"'
    tree = _parser().parse(text.encode())
    if tree.root_node.has_error:
        inner.dynamic.append("the shell parser cannot parse a here-document's substitutions")
    _walk(tree.root_node, text, inner)
    out.commands += inner.commands[1:]  # the first is the ':' that holds the string
    out.dynamic += inner.dynamic
    return body


def _file_redirect(node: Any, source: str, out: ShellParse) -> None:
    """``2>&1`` and ``>/dev/null`` are static; any other redirection asks and its file is kept."""
    target = node.named_children[-1] if node.named_children else None
    operator = next((c.type for c in node.children if not c.is_named), "")
    value = _word(target, source, out, is_name=False) if target is not None else None
    if target is not None:
        _walk(target, source, out)  # a substitution in the target still runs
    if operator in (">&", "<&") and value is not None and (value.isdigit() or value == "-"):
        return
    if value in _STATIC_TARGETS:
        return
    out.dynamic.append(f"a redirection: {_text(node, source)[:60]!r}")
    if value is not None:
        (out.reads if operator == "<" else out.redirects).append(value)


_WORDS = {"word", "raw_string", "string", "number", "concatenation", "string_content"}


def _word(node: Any, source: str, out: ShellParse, *, is_name: bool) -> str | None:
    """The word's value after quote removal, or None when the shell decides it at run time."""
    kind = node.type
    raw = _text(node, source)
    if kind == "concatenation" and all(c.type == "word" for c in node.children):
        kind = "word"  # ``-I{}``: the parser splits braces off into words of their own
    if kind in ("word", "number"):
        if raw in _LITERAL_WORDS:
            return _LITERAL_WORDS[raw]
        if _EXPANDS.search(raw.replace("{}", "")):  # ``-I{}``: empty braces never expand
            out.dynamic.append(f"glob, brace, tilde or escape characters in {raw[:60]!r}")
            return _unescaped(raw)
        return raw
    value: str | None = None
    if raw in _LITERAL_WORDS:
        return _LITERAL_WORDS[raw]
    if kind == "raw_string":
        value = raw[1:-1]
    elif kind == "string":
        value = _double_quoted(node, source)
    elif kind == "concatenation":
        value = _concatenation(node, source, out)
    else:
        return None
    if value is not None and is_name:
        # ``r''m`` and ``"rm"`` run rm: asked for the trick, and checked as what runs.
        out.dynamic.append(f"quoting inside the command name {raw[:60]!r}")
    return value


_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _unescaped(raw: str) -> str | None:
    """A word whose only special characters are backslash escapes, as bash passes it on.

    ``\\rm`` runs ``rm`` (the backslash only skips aliases) and ``\\--force`` is ``--force``,
    so what they hide is still checked. A word that also globs, braces or expands ``~`` is
    unknown until the shell runs: None.
    """
    if _EXPANDS.search(_ESCAPED.sub("", raw)):
        return None
    return _ESCAPED.sub(r"\1", raw)


def _double_quoted(node: Any, source: str) -> str | None:
    if any(child.type != "string_content" for child in node.named_children):
        return None  # expansions inside: reported by the walk
    body = _text(node, source)[1:-1]
    for escaped in ('\\"', "\\\\", "\\$", "\\`"):
        body = body.replace(escaped, escaped[1])
    return body


def _concatenation(node: Any, source: str, out: ShellParse) -> str | None:
    parts = [_word(child, source, out, is_name=False) for child in node.named_children]
    if any(part is None for part in parts):
        return None
    return "".join(part for part in parts if part is not None)


def _text(node: Any, source: str) -> str:
    return source[node.start_byte : node.end_byte]
