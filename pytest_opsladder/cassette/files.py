"""Cassette files: one per run, a versioned envelope, atomic writes, safe loads (level 0).

The envelope is ``{"format": "pytest-opsladder/cassette", "schema_version": N, "run": {...}}``.
JSON is the default, in the git-friendly layout of :mod:`.layout` (one value per line, sorted
keys, JSON bodies structured); ``.yaml`` cassettes are read and written with PyYAML's *safe*
loader and dumper. Loading never executes anything: YAML tags that would construct objects and
pickle payloads are refused with the place named.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from pytest_opsladder._atomic import open_atomic
from pytest_opsladder._regular_file import FileProblem, Problem, read_regular
from pytest_opsladder.capture.run import Run
from pytest_opsladder.cassette import layout
from pytest_opsladder.cassette.schema import MAX_BYTES, MAX_DEPTH, validate
from pytest_opsladder.cassette.write_errors import (
    CASSETTE,
    WriteTarget,
    open_failed,
    write_failed,
)
from pytest_opsladder.exceptions import (
    CassetteCorruptError,
    CassetteError,
    CassetteFormatError,
    CassetteNotFoundError,
    CassetteSchemaError,
    CassetteWriteError,
)
from pytest_opsladder.secrets import refuse_secrets

FORMAT = "pytest-opsladder/cassette"
SCHEMA_VERSION = 1
READABLE_VERSIONS = (1,)
_PICKLE_MAGIC = (b"\x80", b"(dp", b"(lp", b"ccopy_reg")


def dumps(run: Run, *, suffix: str = ".json") -> str:
    return dumps_dict(run.to_dict(), suffix=suffix)


def dumps_dict(run: dict[str, Any], *, suffix: str = ".json", ascii_only: bool = False) -> str:
    """The cassette text of a run in ``Run.to_dict()`` form: JSON one value per line with JSON
    bodies structured (:mod:`.layout`), so a no-op re-record diffs only volatile values. Lone
    surrogates (text that no encoding can write) are kept as JSON ``\\udcXX`` escapes, which
    load back unchanged."""
    envelope = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "run": run}
    if suffix in (".yaml", ".yml"):
        if layout.first_too_deep(envelope) != "$":
            raise layout.NestedTooDeep()
        return yaml.dump(
            envelope, Dumper=_NoAliasDumper, sort_keys=True, allow_unicode=not ascii_only
        )
    try:
        text = layout.dumps_json({**envelope, "run": layout.structure_bodies(run)})
    except (layout.BodyTooDeep, RecursionError):  # a body nested past the schema: text
        text = layout.dumps_json(envelope)  # NestedTooDeep: a value past it is refused
    return _SURROGATE.sub(_escaped, text) if ascii_only else text


_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str, every surrogate is a lone one


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


class _NoAliasDumper(yaml.SafeDumper):
    """Shared objects are written out in full: a cassette holds no YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def save(run: Run, path: Path, *, allow: tuple[re.Pattern[str], ...] = ()) -> Path:
    """Write ``run`` to ``path`` atomically: a reader sees the old file or the new, never half.

    The whole serialized run is scanned for credentials first (:mod:`pytest_opsladder.secrets`):
    a run holding one is refused with :class:`~pytest_opsladder.secrets.CassetteSecretError`,
    and the file at ``path`` stays as it was.
    """
    data = run.to_dict()
    try:
        refuse_secrets(data, allow, where=f"cassette {path}")
        text = dumps_dict(data, suffix=path.suffix)
    except (layout.NestedTooDeep, RecursionError):  # the scan's walk recurses only past it
        where = layout.first_too_deep({"run": data})
        if where == "$":  # nothing too deep: the caller's own stack ran out
            raise
        raise _too_deep_error(path, where) from None
    try:
        atomic_write_text(path, text)
    except UnicodeEncodeError:  # a lone surrogate: write it escaped (ASCII), it loads back as is
        atomic_write_text(path, dumps_dict(data, suffix=path.suffix, ascii_only=True))
    return path


def _too_deep_error(path: Path, where: str) -> CassetteWriteError:
    kept = "the cassette there is unchanged" if path.exists() else "no file was written"
    return CassetteWriteError(
        f"cannot write cassette {path}: {where} nests deeper than the {MAX_DEPTH} levels a "
        f"cassette holds (docs/cassette-schema.md), so the file would not load; {kept}. "
        "Fix: record a flatter value there, or hold the deep part as a JSON string "
        "(json.dumps).",
        path=path,
    )


def atomic_write_text(path: Path, text: str, target: WriteTarget = CASSETTE) -> None:
    """Write via a temp file in the same directory, fsync, then rename over ``path``.

    Any OSError (a full disk, a directory where the file goes) is ``target.error`` (a
    :class:`CassetteWriteError`) naming the file, the cause (errno) and the fix ``target``
    gives its owner; the temp file is gone and ``path`` is as it was."""
    try:
        opened = open_atomic(path)
    except OSError as exc:
        raise open_failed(path, exc, target) from None  # the message holds the cause
    try:
        with opened as handle:
            handle.write(text)
    except OSError as exc:
        raise write_failed(path, exc, "write", target) from None


def remove(path: Path, target: WriteTarget = CASSETTE) -> None:
    """Remove the file at ``path`` if there is one; an OSError is ``target.error``."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise write_failed(path, exc, "replace", target) from None


def load(path: Path) -> Run:
    """Read a cassette; every failure names the file, the place and the fix."""
    envelope = load_envelope(path)
    try:
        return Run.from_dict(envelope["run"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # the schema should stop these
        raise CassetteFormatError(
            f"{path}: the run cannot be read ({type(exc).__name__}: {exc}). Re-record it.",
            path=path,
            json_path="$.run",
            expected="a run matching docs/cassette-schema.md",
        ) from exc


def load_envelope(path: Path) -> dict[str, Any]:
    """The parsed cassette, checked against the published JSON Schema (:mod:`.schema`)."""
    raw = _read_bytes(path)
    _refuse_pickle(raw, path)
    text = _decode(raw, path)
    data = _parse_yaml(text, path) if path.suffix in (".yaml", ".yml") else _parse_json(text, path)
    _check_envelope(data, path)
    _validate_once(raw, data, path)
    envelope: dict[str, Any] = layout.accept_bodies(data)  # structured or text bodies
    return envelope


_VALID: dict[bytes, None] = {}  # digests of cassette bytes that passed the schema


def _validate_once(raw: bytes, data: Any, path: Path) -> None:
    """Validate against the schema, once per distinct content: a replay reads its cassette
    twice (the run, then the stale check), and validation is a pure function of the bytes."""
    digest = hashlib.blake2b(raw, digest_size=16).digest()
    if digest in _VALID:
        return
    validate(data, path)
    if len(_VALID) >= 1024:
        _VALID.clear()
    _VALID[digest] = None


def _read_bytes(path: Path) -> bytes:
    """The cassette's bytes: a regular file (a FIFO would block the read forever, see
    :mod:`pytest_opsladder._regular_file`) of at most :data:`MAX_BYTES`."""
    try:
        return read_regular(path, MAX_BYTES)
    except FileProblem as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: FileProblem) -> CassetteError:
    record = "pytest --opsladder-mode=record"
    if exc.problem is Problem.MISSING:
        return CassetteNotFoundError(f"no cassette at {path}. Record it with: {record}", path=path)
    if exc.problem is Problem.DANGLING:  # as missing: recording replaces the link
        return CassetteNotFoundError(
            f"no cassette at {path}: it {exc.detail}. Point the link at the cassette, or record "
            f"it again ({record}), which replaces the link with the cassette.",
            path=path,
        )
    if exc.problem is Problem.TOO_LARGE:
        return CassetteCorruptError(
            f"{path} is {exc.size} bytes; cassettes are bounded to {MAX_BYTES} bytes. "
            "It is not a cassette this package wrote: remove it or re-record the run.",
            path=path,
        )
    return CassetteError(  # a loop, a directory, a FIFO, an unreadable file: say which
        f"cannot read cassette {path}: it {exc.detail}. Pass a cassette file (a directory is "
        "scanned by `opsladder cassette validate DIR`), or remove it and re-record the run.",
        path=path,
    )


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
    except RecursionError as exc:
        raise CassetteCorruptError(
            f"{path}: nested too deeply to be a cassette. Restore it or re-record the run.",
            path=path,
        ) from exc
    except ValueError as exc:
        if not isinstance(exc, json.JSONDecodeError):  # e.g. an integer of 5,000 digits
            raise CassetteCorruptError(
                f"{path}: not a readable cassette ({exc}). Restore it or re-record the run.",
                path=path,
            ) from exc
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
        try:
            return yaml.load(text, Loader=loader)
        except yaml.YAMLError as exc:
            if "escape code" not in str(getattr(exc, "problem", "")):
                raise
            # libyaml refuses the \udcXX escape of a lone surrogate; PyYAML's own loader
            # (also safe) reads it, so such text round-trips in YAML cassettes too
            return yaml.load(text, Loader=yaml.SafeLoader)
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise CassetteCorruptError(
            f"{path}: cannot load YAML cassette ({type(exc).__name__}: {str(exc)[:200]}). "
            "Restore it from version control or re-record the run.",
            path=path,
        ) from exc
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
    if type(version) is not int:  # true and 1.0 compare equal to 1: not a version
        raise SchemaVersionTypeError(path, version)
    if version not in READABLE_VERSIONS:
        readable = ", ".join(map(str, READABLE_VERSIONS))
        raise CassetteSchemaError(
            f"{path} has cassette schema_version {version!r}; this release of pytest-opsladder "
            f"reads version(s) {readable}. Upgrade pytest-opsladder, or re-record the run.",
            path=path,
            found=version,
        )


class SchemaVersionTypeError(CassetteFormatError, CassetteSchemaError):
    """``schema_version`` is not an integer: a format error that is also a version error."""

    def __init__(self, path: Path, version: object) -> None:
        readable = ", ".join(map(str, READABLE_VERSIONS))
        CassetteError.__init__(
            self,
            f"{path}: at $.schema_version: expected an integer, found schema_version "
            f"{version!r} ({type(version).__name__}); this release of pytest-opsladder reads "
            f"version(s) {readable}. Restore the cassette or re-record the run.",
            path=path,
        )
        self.json_path = "$.schema_version"
        self.expected = "an integer"
        self.found = version
