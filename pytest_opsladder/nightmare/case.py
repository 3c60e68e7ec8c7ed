"""The nightmare-set case format: one YAML file per case, validated on load (ladder level 7).

    id: refund-double-charge          # required; letters, digits, '-', '_', '.'
    input: {message: "I was charged twice for order 1142"}   # required; any YAML/JSON data
    checks:                           # each item is one check kind with its argument
      - tool_trajectory: {mode: subset, calls: [search_orders, refund]}
      - contains: refund
    tags: [billing]                   # optional; selectable with -k
    severity: high                    # optional: low, medium (default), high, critical
    description: why this case is a nightmare
    provenance: {source_run: 1f2e..., date: 2026-11-02, reason: double refund in prod}

Unknown top-level keys are errors (a typo must not silently drop a check). Errors name the
file, the line and the fix. Files are parsed by a fast path for plain block YAML (yaml_subset.py,
which builds what PyYAML would) or else PyYAML's C safe loader when available: loading a case
never executes anything. Only regular files of at most :data:`MAX_CASE_BYTES` are read (a FIFO
or a broken link is refused, never waited on), and YAML aliases are bounded (yaml_aliases.py).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeGuard

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_opsladder._regular_file import FileProblem, Problem, read_regular
from pytest_opsladder.choices import parse_choice
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.nightmare import yaml_subset
from pytest_opsladder.nightmare.check_args import python_target, resolve_python_target
from pytest_opsladder.nightmare.checks import Check, parse_check
from pytest_opsladder.nightmare.yaml_aliases import AliasExpansionError, check_aliases

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KEYS = {"id", "input", "checks", "tags", "severity", "description", "provenance", "epochs"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A case file is read whole on every collection; a bigger one is refused, naming the cap.
MAX_CASE_BYTES = 4 << 20
_SCALARS = _LOADER("")  # types plain scalars for yaml_subset (its resolver and constructors)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class CaseFormatError(ConfigError):
    """A nightmare-set case file is malformed; ``path`` and ``line`` say where."""

    def __init__(self, message: str, *, path: Path, line: int | None = None) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class NightmareCase:
    """A curated hard case: what the agent is given, and what must hold of what it does."""

    id: str
    input: Any
    checks: tuple[Check, ...] = ()
    tags: tuple[str, ...] = ()
    severity: Severity = Severity.MEDIUM
    description: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "input": self.input}
        out["checks"] = [c.to_dict() for c in self.checks]
        if self.tags:
            out["tags"] = list(self.tags)
        out["severity"] = self.severity.value
        if self.description:
            out["description"] = self.description
        if self.provenance:
            out["provenance"] = self.provenance
        return out


def load_case(path: Path, *, resolve_targets: bool = False) -> NightmareCase:
    """Parse and validate one case file. ``resolve_targets`` (at collection) also imports the
    function each ``python`` check names: the CLI, outside the test run's ``sys.path``, does
    not."""
    text = _read(path)
    try:
        raw = parse_yaml(text)
    except AliasExpansionError as exc:
        raise CaseFormatError(str(exc), path=path, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CaseFormatError(
            f"not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax at this line.",
            path=path,
            line=mark.line + 1 if mark else None,
        ) from exc
    return case_from_mapping(raw, path, text, resolve_targets=resolve_targets)


_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{t}" for t in ("str", "map", "seq"))


def parse_yaml(text: str) -> Any:
    """``yaml.load`` with the safe C loader, building plain strings, mappings and lists itself.

    A nightmare set of 10,000 cases is collected on every pytest run. Most case files are
    plain block YAML, which :mod:`.yaml_subset` reads in about half the time libyaml's
    composer takes; anything else is composed by libyaml. PyYAML's Python constructor cost half
    of such a load: plain strings, mappings and lists are built here, and every other node
    (numbers, booleans, dates, merge keys, and any tag the safe loader refuses) goes through
    the safe constructor unchanged.
    """
    try:
        return yaml_subset.parse(text, _SCALARS)
    except yaml_subset.NotSimple:
        return parse_with_libyaml(text)


def parse_with_libyaml(text: str, loader_class: Any = _LOADER) -> Any:
    """What :func:`parse_yaml` does when the subset gives up: libyaml composes, and the node
    builder below constructs (the reference the subset is tested against)."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "*" in text:  # no alias without one: nothing is repeated
            check_aliases(node)
        try:
            return _build(loader, node)
        except RecursionError:  # nested deeper than this stack: the safe constructor loops
            return loader.construct_document(node)
    finally:
        loader.dispose()


def _build(loader: Any, node: Node) -> Any:
    tag = node.tag
    if tag == _STR and isinstance(node, ScalarNode):
        return node.value
    if tag == _MAP and isinstance(node, MappingNode):
        if all(k.tag == _STR and isinstance(k, ScalarNode) for k, _ in node.value):
            return {k.value: _build(loader, v) for k, v in node.value}
    elif tag == _SEQ and isinstance(node, SequenceNode):
        return [_build(loader, item) for item in node.value]
    return loader.construct_object(node, deep=True)


def _read(path: Path) -> str:
    """The text of the case file at ``path``: a regular file of at most :data:`MAX_CASE_BYTES`,
    opened without blocking (see :mod:`pytest_opsladder._regular_file`), decoded at once and
    given the universal-newline translation a text-mode read makes."""
    try:
        data = read_regular(path, MAX_CASE_BYTES)
    except FileProblem as exc:
        message = f"the case file {exc.detail}. {_FIXES[exc.problem]}"
        raise CaseFormatError(message, path=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseFormatError(f"not UTF-8 text (byte {exc.start}).", path=path) from exc
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


_FIXES = {
    Problem.MISSING: "Restore the case file, or run pytest again if it was just moved.",
    Problem.DANGLING: "Point the link at a case file, or remove the link.",
    Problem.LOOP: "Replace the link with the case file it should name, or remove it.",
    Problem.SPECIAL: "Only regular files are read as cases (a pipe or a device could block "
    "collection): remove it, or move it out of the nightmare set.",
    Problem.TOO_LARGE: f"A case file holds one hard input and its checks, at most "
    f"{MAX_CASE_BYTES // (1 << 20)} MiB: trim the input to what makes the case hard, or split "
    "it into several cases.",
    Problem.UNREADABLE: "Make the file readable (its permissions, the disk), or remove it.",
}


def case_from_mapping(
    raw: Any, path: Path, text: str = "", *, resolve_targets: bool = False
) -> NightmareCase:
    if not isinstance(raw, dict):
        raise CaseFormatError(
            "a case file must be a mapping with at least `id` and `input`.", path=path, line=1
        )
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise CaseFormatError(
            f"unknown key {unknown[0]!r}; valid keys are {', '.join(sorted(_KEYS))}.",
            path=path,
            line=line_of(text, unknown[0]),
        )
    return NightmareCase(
        id=_case_id(raw, path, text),
        input=_required(raw, "input", path, text),
        checks=_checks(raw.get("checks") or [], path, text, resolve_targets),
        tags=_tags(raw.get("tags") or [], path, text),
        severity=_severity(raw.get("severity", "medium"), path, text),
        description=str(raw.get("description") or ""),
        provenance=_provenance(raw.get("provenance") or {}, path, text),
        path=path,
    )


def line_of(text: str, key: str) -> int | None:
    """The first line where ``key:`` appears as a mapping key, for error messages."""
    pattern = re.compile(rf"^\s*-?\s*{re.escape(str(key))}\s*:", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _required(raw: dict[str, Any], key: str, path: Path, text: str) -> Any:
    if key not in raw:
        raise CaseFormatError(f"missing required key {key!r}.", path=path, line=1)
    return raw[key]


def valid_id(value: object) -> TypeGuard[str]:
    """Is ``value`` a case id a case file may have (see :data:`ID_RULE`)?"""
    return isinstance(value, str) and _ID.match(value) is not None


ID_RULE = "use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"


def _case_id(raw: dict[str, Any], path: Path, text: str) -> str:
    value = _required(raw, "id", path, text)
    if not valid_id(value):
        raise CaseFormatError(
            f"id {value!r} is not valid: {ID_RULE}.",
            path=path,
            line=line_of(text, "id"),
        )
    return value


def _checks(items: Any, path: Path, text: str, resolve_targets: bool) -> tuple[Check, ...]:
    if not isinstance(items, list):
        raise CaseFormatError("`checks` must be a list.", path=path, line=line_of(text, "checks"))
    out = []
    for i, item in enumerate(items):
        try:
            check = parse_check(item)
            if resolve_targets and check.kind == "python":
                resolve_python_target(python_target(check.args))
            out.append(check)
        except ConfigError as exc:
            line = _check_line(text, items, i)
            raise CaseFormatError(f"checks[{i}]: {exc}", path=path, line=line) from None
    return tuple(out)


def _check_line(text: str, items: list[Any], index: int) -> int | None:
    """The line of ``checks[index]``: its kind's key after the ``checks:`` line, skipping the
    earlier checks of the same kind (on errors only)."""
    item = items[index]
    kind = next(iter(item), None) if isinstance(item, dict) else None
    start = line_of(text, "checks")
    if not kind or start is None:
        return start
    earlier = sum(1 for other in items[:index] if isinstance(other, dict) and kind in other)
    pattern = re.compile(rf"^\s*-?\s*{re.escape(str(kind))}\s*:", re.MULTILINE)
    offset = sum(len(line) + 1 for line in text.split("\n")[: start - 1])
    found = list(pattern.finditer(text, offset))
    if len(found) <= earlier:
        return line_of(text, kind) or start
    return text.count("\n", 0, found[earlier].start()) + 1


def _tags(items: Any, path: Path, text: str) -> tuple[str, ...]:
    if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
        raise CaseFormatError(
            "`tags` must be a list of strings.", path=path, line=line_of(text, "tags")
        )
    return tuple(items)


def _provenance(value: Any, path: Path, text: str) -> dict[str, Any]:
    """Where the case came from: a mapping; ``date`` (if given) an ISO date, ``reason`` text."""
    if not isinstance(value, dict):
        raise CaseFormatError(
            "`provenance` must be a mapping such as {source_run: <run id>, date: 2026-11-02, "
            "reason: ...}.",
            path=path,
            line=line_of(text, "provenance"),
        )
    date = value.get("date")
    if date is not None and not _is_iso_date(date):
        raise CaseFormatError(
            f"provenance date {date!r} is not an ISO date; write it as YYYY-MM-DD.",
            path=path,
            line=line_of(text, "date") or line_of(text, "provenance"),
        )
    return {str(k): v for k, v in value.items()}


def _is_iso_date(value: Any) -> bool:
    if isinstance(value, dt.date):
        return True
    try:
        dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return False
    return True


def _severity(value: Any, path: Path, text: str) -> Severity:
    known = Severity._value2member_map_.get(value) if type(value) is str else None
    if known is not None:  # as parse_choice returns it; the line is looked up on errors only
        return known  # type: ignore[return-value]
    line = line_of(text, "severity")
    return parse_choice(
        Severity, value, setting="severity", error=CaseFormatError, path=path, line=line
    )


def is_case_file(path: Path, root: Path) -> bool:
    """Case files are YAML files under the nightmare dir, outside its cassettes/ folder."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        rel = path.relative_to(root)
    except ValueError:
        return False
    return bool(rel.parts) and rel.parts[0] not in ("cassettes", "history", "retired")
