"""``opsladder cassette validate|show``: check and read cassettes without running anything."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pytest_opsladder._regular_file import FileProblem, read_head
from pytest_opsladder.cassette import files
from pytest_opsladder.exceptions import CassetteError


def register(sub: Any) -> None:
    parser = sub.add_parser("cassette", help="inspect and validate cassettes (level 0)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    validate = actions.add_parser("validate", help="load every cassette under the paths")
    validate.add_argument("paths", nargs="+", type=Path)
    validate.set_defaults(func=_validate)
    show = actions.add_parser("show", help="print a cassette's run summary (or --json)")
    show.add_argument("path", type=Path)
    show.add_argument("--json", action="store_true", help="print the whole run as JSON")
    show.set_defaults(func=_show)


_SUFFIXES = (".json", ".yaml", ".yml")


def _cassettes(paths: list[Path]) -> list[Path]:
    """Files named on the command line, and every cassette file found under a directory."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if _is_cassette(p, path))
        else:
            out.append(path)
    return out


def _is_cassette(path: Path, root: Path) -> bool:
    """A data file (not a temp file) under a ``cassettes`` directory, or one that says it is a
    cassette: case files beside the cassettes (nightmare_set/*.yaml) are not cassettes."""
    if path.suffix not in _SUFFIXES or path.name.startswith("."):
        return False
    if not path.is_file():  # a link to nothing, or a loop: validate reports it, never skips it
        return path.is_symlink() and not path.exists()
    if "cassettes" in path.relative_to(root.parent).parts[:-1]:
        return True
    try:
        return files.FORMAT.encode() in read_head(path, 4096)
    except FileProblem:
        return True  # unreadable: validate reports it rather than skipping it silently


def _foreign(path: Path) -> bool:
    """A cassette of another tool (vcrpy / pytest-recording: ``interactions`` and no format tag
    of ours), sharing the ``cassettes`` directory: not ours to validate."""
    try:
        head = read_head(path, 4096)  # a FIFO given by name must not block here
    except FileProblem:
        return False  # missing or unreadable: validate reports it as a failed cassette
    return files.FORMAT.encode() not in head and b"interactions" in head


def _validate(args: argparse.Namespace) -> int:
    """Every file is checked and reported; one bad file never stops the others."""
    bad = 0
    paths = _cassettes(args.paths)
    foreign = [p for p in paths if _foreign(p)]
    for path in foreign:
        print(f"SKIP {path}: not an opsladder cassette (vcrpy/pytest-recording format)")
    paths = [p for p in paths if p not in foreign]
    for path in paths:
        problem = _problem(path)
        if problem:
            bad += 1
            _err(f"FAIL {problem}")
    print(f"{len(paths) - bad} valid, {bad} invalid cassette(s)")
    return 1 if bad else 0


def _problem(path: Path) -> str | None:
    try:
        files.load(path)
    except CassetteError as exc:
        return str(exc)
    except Exception as exc:  # a defect of ours; still report the file and go on
        return f"{path}: unexpected {type(exc).__name__} while loading ({exc}); please report it"
    return None


def _show(args: argparse.Namespace) -> int:
    run = files.load(args.path)  # a CassetteError is printed by the CLI, without a traceback
    if args.json:
        _out(json.dumps(run.to_dict(), indent=1, sort_keys=True, ensure_ascii=False))
        return 0
    _out(
        f"run {run.run_id}  case={run.case.id}  variant={run.variant.name}  "
        f"status={run.status.value}"
    )
    for event in run.events:
        _out(f"  {event.seq:>4} {event.t_start:9.4f}s {event.kind:<12} {event.name}")
    _out(f"output: {json.dumps(run.output, ensure_ascii=False)[:300]}")
    return 0


def _safe(text: str) -> str:
    """Text any terminal can print: lone surrogates and unencodable characters escaped."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    return text.encode(encoding, "backslashreplace").decode(encoding, "replace")


def _out(text: str) -> None:
    print(_safe(text))


def _err(text: str) -> None:
    print(_safe(text), file=sys.stderr)
