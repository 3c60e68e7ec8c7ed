"""Inline code given to an interpreter (ladder level 4): still asks, and its denials stand.

``python -c CODE`` and ``node -e CODE`` run code nobody reviewed, so they ask. But code that
visibly destroys is no better than the shell command it stands for: ``shutil.rmtree`` is
``rm -r``, ``fs.rmSync(p, {recursive: true})`` too, and ``os.system('rm -rf build')`` *is*
``rm -rf build``. Python code is parsed with :mod:`ast` (strings and comments are never
calls); for JavaScript, Perl and Ruby the recursive-delete calls and literal shell commands
are found by pattern. Each literal command string is checked as shell text, a literal argv
list as a command; only denials are added (what is left still asks as inline code).
"""

from __future__ import annotations

import ast
import re

from pytest_opsladder.guardrails.shell_context import ShellContext, deny
from pytest_opsladder.guardrails.verdicts import Decision, Verdict

# Calls that delete a whole tree (``rm -r``), by the name they are called with.
_PY_TREE_DELETES = {"rmtree"}
# Calls whose first argument is a shell command line, and those that take an argv list.
_PY_SHELL = {"system", "popen", "getoutput", "getstatusoutput"}
_PY_RUNS = {"run", "call", "check_call", "check_output", "Popen"}


def inline_decisions(language: str, code: str, ctx: ShellContext) -> list[Decision]:
    """The denials of what ``code`` visibly does, in ``language`` (an interpreter name)."""
    if language.startswith("python"):
        return _python(code, ctx)
    if language in ("node", "deno", "bun"):
        return _matched_calls(language, code, ctx, _JS_TREE_DELETE, _JS_SHELL)
    if language in ("perl", "ruby"):
        return _matched_calls(language, code, ctx, _PERL_RUBY_TREE, _PERL_RUBY_SHELL)
    return []


def _python(code: str, ctx: ShellContext) -> list[Decision]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    out: list[Decision] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node.func)
        first = node.args[0] if node.args else None
        if name in _PY_TREE_DELETES:
            out.append(deny("shell:inline-code", f"python calls {name}: it deletes a whole tree"))
        elif name in _PY_SHELL | _PY_RUNS and _text(first) is not None:
            out += _denies(ctx.check_script(_text(first) or ""))
        elif name in _PY_RUNS and isinstance(first, ast.List | ast.Tuple):
            argv = [_text(e) for e in first.elts]
            if argv and all(a is not None for a in argv):
                out += _denies(ctx.check_argv([a for a in argv if a is not None]))
    return out


def _called(func: ast.expr) -> str:
    """``shutil.rmtree`` -> ``rmtree``; ``__import__('os').system`` -> ``system``."""
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


_JS_TREE_DELETE = re.compile(
    r"\b(?:rmSync|rmdirSync|rm|rmdir|rimraf)\s*\([^)]*recursive\s*:\s*true"
)
_JS_SHELL = re.compile(r"""\b(?:execSync|exec)\s*\(\s*(['"`])((?:(?!\1)[^\\]|\\.)*)\1""")


_PERL_RUBY_TREE = re.compile(r"\b(?:rmtree|remove_tree|rm_rf|rm_r|remove_dir|remove_entry)\b")
_PERL_RUBY_SHELL = re.compile(
    r"""\b(?:system|exec)\s*\(?\s*(['"])((?:(?!\1)[^\\]|\\.)*)\1|`([^`]*)`"""
)


def _matched_calls(
    language: str, code: str, ctx: ShellContext, tree: re.Pattern[str], shell: re.Pattern[str]
) -> list[Decision]:
    """Denials for a call of ``tree`` (deletes a whole tree) and for a destructive command a
    ``shell`` call runs (its command: the first group after the quote that matched)."""
    out: list[Decision] = []
    found = tree.search(code)
    if found:
        why = f"{language} calls {found.group(0)[:40]!r}: it deletes a whole tree"
        out.append(deny("shell:inline-code", why))
    for match in shell.finditer(code):
        command = next((g for g in match.groups()[1:] if g), "")
        out += _denies(ctx.check_script(command))
    return out


def _denies(found: list[Decision]) -> list[Decision]:
    return [d for d in found if d.verdict is Verdict.DENY]
