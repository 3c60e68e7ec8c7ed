"""Cassette files: one per run, a versioned envelope, atomic writes, safe loads (level 0).

The envelope is ``{"format": "pytest-opsladder/cassette", "schema_version": N, "run": {...}}``.
JSON is the default, in the git-friendly layout of :mod:`.layout` (one value per line, sorted
keys, JSON bodies structured); ``.yaml`` cassettes are read and written with PyYAML's *safe*
loader and dumper. Loading never executes anything: YAML tags that would construct objects and
pickle payloads are refused with the place named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from pytest_opsladder._atomic import open_atomic
from pytest_opsladder.capture.run import Run
from pytest_opsladder.cassette import layout
from pytest_opsladder.exceptions import (
    CassetteCorruptError,
    CassetteError,
    CassetteNotFoundError,
    CassetteSchemaError,
    CassetteWriteError,
)

FORMAT = "pytest-opsladder/cassette"
SCHEMA_VERSION = 1
READABLE_VERSIONS = (1,)
_PICKLE_MAGIC = (b"\x80", b"(dp", b"(lp", b"ccopy_reg")


def dumps(run: Run, *, suffix: str = ".json") -> str:
    run_dict = run.to_dict()
    envelope = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "run": run_dict}
    if suffix in (".yaml", ".yml"):
        return yaml.safe_dump(envelope, sort_keys=True, allow_unicode=True)
    # one value per line, JSON bodies structured: a no-op re-record diffs only volatile values
    return layout.dumps_json({**envelope, "run": layout.structure_bodies(run_dict)})


def save(run: Run, path: Path) -> Path:
    """Write ``run`` to ``path`` atomically: a reader sees the old file or the new, never half."""
    atomic_write_text(path, dumps(run, suffix=path.suffix))
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same directory, fsync, then rename over ``path``."""
    try:
        target = open_atomic(path)
    except OSError as exc:
        raise CassetteWriteError(
            f"cannot write cassette {path}: {exc.strerror or exc} in directory {path.parent}. "
            "Make the directory writable, or point the cassettes elsewhere with "
            "--opsladder-cassette-dir / the opsladder_cassette_dir ini key.",
            path=path,
        ) from exc
    with target as handle:
        handle.write(text)


def load(path: Path) -> Run:
    """Read a cassette; every failure names the file, the place and the fix."""
    return Run.from_dict(load_envelope(path)["run"])


def load_envelope(path: Path) -> dict[str, Any]:
    raw = _read_bytes(path)
    _refuse_pickle(raw, path)
    text = _decode(raw, path)
    data = _parse_yaml(text, path) if path.suffix in (".yaml", ".yml") else _parse_json(text, path)
    _check_envelope(data, path)
    envelope: dict[str, Any] = layout.accept_bodies(data)  # structured or text bodies
    return envelope


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise CassetteNotFoundError(
            f"no cassette at {path}. Record it with: pytest --opsladder-mode=record", path=path
        ) from exc
    except OSError as exc:  # a directory, an unreadable file: say which, not a traceback
        raise CassetteError(
            f"cannot read cassette {path}: {exc.strerror or exc}. Pass a cassette file "
            "(a directory is scanned by `opsladder cassette validate DIR`).",
            path=path,
        ) from exc


def _refuse_pickle(raw: bytes, path: Path) -> None:
    if raw.startswith(_PICKLE_MAGIC):
        raise CassetteCorruptError(
            f"{path} looks like a Python pickle; cassettes are JSON or YAML and pickles are "
            "never loaded (unpickling executes code). Delete it and re-record the run.",
            path=path,
        )


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CassetteCorruptError(
            f"{path} is not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 4]!r}); "
            "the file is damaged. Restore it from version control or re-record the run.",
            path=path,
        ) from exc


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = (
            "it carries YAML/Python tags, which are never executed"
            if "!!python" in text or text.lstrip().startswith("!")
            else "the file is truncated or was edited by hand"
        )
        raise CassetteCorruptError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); {hint}. "
            "Restore it from version control or re-record the run "
            "(pytest --opsladder-mode=record --opsladder-record-mode=rewrite -k <test>).",
            path=path,
        ) from exc


def _parse_yaml(text: str, path: Path) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise CassetteCorruptError(
            f"{where}: cannot load YAML cassette ({getattr(exc, 'problem', exc)}). Tags that "
            "construct Python objects are refused, never executed. Re-record the run.",
            path=path,
        ) from exc


def _check_envelope(data: Any, path: Path) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT or "run" not in data:
        raise CassetteCorruptError(
            f"{path} is not a pytest-opsladder cassette (expected a mapping with "
            f"format={FORMAT!r} and a 'run'). Re-record it, or remove it from the cassette dir.",
            path=path,
        )
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        readable = ", ".join(map(str, READABLE_VERSIONS))
        raise CassetteSchemaError(
            f"{path} has cassette schema_version {version!r}; this release of pytest-opsladder "
            f"reads version(s) {readable}. Upgrade pytest-opsladder, or re-record the run.",
            path=path,
            found=version,
        )
