"""Curating the nightmare set: add, promote, retire, dedupe (ladder level 7).

A case is a YAML file ``<dir>/<id>.yaml``; its baseline cassette is
``<dir>/cassettes/<id>/<variant>.json``. Promotion turns one production run (a run file of the
store) into a case in one step: the run's input becomes the case input, the run itself becomes
the baseline cassette, and the provenance says which run, when and why. Retiring moves the
case (and its cassettes) under ``<dir>/retired/`` and appends the reason to
``<dir>/history/retired.jsonl``: nothing is deleted, and the collector skips both folders.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from pytest_opsladder import _json
from pytest_opsladder.cassette import files
from pytest_opsladder.cassette.naming import cassette_path, safe_stem
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.nightmare.case import (
    MAX_CASE_BYTES,
    NightmareCase,
    case_from_mapping,
    is_case_file,
    load_case,
    parse_yaml,
)
from pytest_opsladder.nightmare.case_id_rule import check_case_id
from pytest_opsladder.nightmare.errors import CurationError
from pytest_opsladder.nightmare.yaml_aliases import AliasExpansionError
from pytest_opsladder.store.index import input_hash
from pytest_opsladder.store.locking import append_jsonl, locked

RETIRED = "retired"
HISTORY = "history"
NEEDS_CHECKS = "needs-checks"


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def case_file(root: Path, case_id: str) -> Path:
    return root / f"{safe_stem(case_id)}.yaml"


def case_cassettes(root: Path, case_id: str) -> Path:
    return root / "cassettes" / safe_stem(case_id)


def set_root(root: Path) -> Path:
    """``root`` as the nightmare set's directory: a file there is refused (naming it)."""
    if root.exists() and not root.is_dir():
        raise CurationError(
            f"the nightmare set {str(root)!r} is a file, not a directory. Pass --dir the "
            "directory of case files (default nightmare_set).",
            path=root,
        )
    return root


def iter_case_files(root: Path) -> list[Path]:
    """The active case files under ``root``, sorted (what pytest collects)."""
    if not root.is_dir():
        return []
    found = (p for p in root.rglob("*.y*ml") if is_case_file(p, root))
    return sorted(found)


def load_cases(root: Path) -> list[NightmareCase]:
    return [load_case(p) for p in iter_case_files(root)]


def find_case(root: Path, case_id: str) -> NightmareCase:
    for case in load_cases(root):
        if case.id == case_id:
            return case
    raise CurationError(
        f"no case {case_id!r} in {root}; `opsladder nightmare list` shows the case ids.", path=root
    )


def write_case(root: Path, raw: dict[str, Any], *, allow_duplicate: bool = False) -> Path:
    """Validate ``raw`` as a case, refuse a credential, a taken id or (unless allowed) a known
    input; write. One curator at a time: the id check and the write hold the set's lock."""
    _refuse_secrets(raw, case_file(root, str(raw.get("id"))), "case")
    with locked(_curate_lock(root)):
        return _write_case(root, raw, allow_duplicate=allow_duplicate)


def write_case_with_cassette(
    root: Path, raw: dict[str, Any], run: dict[str, Any], variant: str, *, allow_duplicate: bool
) -> Path:
    """A case and its baseline cassette (``run`` re-labelled with the case's id), both or
    neither: a credential in either is refused before anything is written, a cassette already
    at the case's place is never replaced, and a failed cassette write takes the case back."""
    case_id = str(raw.get("id"))
    copied = json.loads(json.dumps(run))
    copied["case"]["id"] = case_id
    cassette = cassette_path(root / "cassettes", case_id, variant)
    _refuse_secrets(raw, case_file(root, case_id), "case")
    _refuse_secrets(copied, cassette, "cassette")
    with locked(_curate_lock(root)):
        if cassette.exists() and not case_file(root, case_id).exists():  # else: id taken
            raise CurationError(
                f"a cassette is already at {cassette} (no case file names it); choose another "
                "--id, or move that cassette away if it is not needed.",
                path=cassette,
            )
        path = _write_case(root, raw, allow_duplicate=allow_duplicate)
        try:
            _write_cassette(copied, cassette)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return path


def _curate_lock(root: Path) -> Path:
    """The lock one curator of ``root`` holds at a time: in the temp dir, keyed by the set's
    real path, so that no lock file lands in the (committed) nightmare set."""
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"opsladder-curate-{key}"


def _refuse_secrets(value: dict[str, Any], path: Path, what: str) -> None:
    """A curated case or cassette holding a credential is refused, naming where (the nightmare
    set is committed and shared: a secret there leaks to everyone who clones it)."""
    from pytest_opsladder.secrets import label, scan

    found = scan(value)
    if found:
        places = "; ".join(f"{f.path}: {label(f.kind)} ({f.sample})" for f in found[:5])
        raise CurationError(
            f"refusing to write a credential into the {what} {path}: {places}. Nothing was "
            "written. Fix: remove the credential from the run's input, output, tool calls or "
            "the --reason text (or redact the run file first), then run the command again.",
            path=path,
        )


def _write_case(root: Path, raw: dict[str, Any], *, allow_duplicate: bool = False) -> Path:
    path = case_file(root, str(raw.get("id")))
    case = case_from_mapping(raw, path, "")
    existing = load_cases(root)
    _refuse_taken_id(case, existing, path)
    if not allow_duplicate:
        _refuse_duplicate_input(case, existing)
    text = yaml.safe_dump(case.to_dict(), sort_keys=False, allow_unicode=True)
    size = len(text.encode("utf-8"))
    if size > MAX_CASE_BYTES:  # collection would refuse the file: do not write it
        raise CurationError(
            f"the case {case.id!r} would be {size:,} bytes, over the cap of {MAX_CASE_BYTES:,} "
            "bytes a case file may have. Nothing was written. Trim the input to what makes the "
            "case hard (or split it into several cases), then run the command again.",
            path=path,
        )
    files.atomic_write_text(path, text)
    return path


def _refuse_taken_id(case: NightmareCase, existing: list[NightmareCase], path: Path) -> None:
    taken = {c.id: c.path for c in existing}
    if case.id in taken or path.exists():
        raise CurationError(
            f"case id {case.id!r} is taken by {taken.get(case.id, path)}; choose another --id.",
            path=path,
        )


def _refuse_duplicate_input(case: NightmareCase, existing: list[NightmareCase]) -> None:
    digest = input_hash(case.input)
    for other in existing:
        if input_hash(other.input) == digest:
            raise CurationError(
                f"case {other.id!r} ({other.path}) already has this input (canonical form); a "
                "duplicate adds cost and no coverage. Strengthen that case's checks instead, "
                "or pass --allow-duplicate."
            )


def build_case(
    case_id: str,
    case_input: Any,
    *,
    checks: Iterable[dict[str, Any]] = (),
    tags: Iterable[str] = (),
    severity: str = "medium",
    description: str = "",
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The mapping of a new case; a case without checks is tagged ``needs-checks``."""
    check_case_id(case_id, "case id", dots=True)
    check_list = list(checks)
    tag_list = list(dict.fromkeys(tags))
    if not check_list and NEEDS_CHECKS not in tag_list:
        tag_list.append(NEEDS_CHECKS)
    raw: dict[str, Any] = {"id": case_id, "input": case_input, "checks": check_list}
    raw.update(tags=tag_list, severity=severity, description=description)
    if provenance:
        raw["provenance"] = provenance
    return raw


def parse_check_text(text: str) -> dict[str, Any]:
    """``--check 'contains: refund'``: one check written as YAML (a one-key mapping)."""
    try:
        value = parse_yaml(text)  # as a case file is read: aliases bounded
    except (yaml.YAMLError, AliasExpansionError) as exc:
        raise CurationError(f"--check {text!r} is not YAML ({exc}).") from None
    if not isinstance(value, dict):
        raise CurationError(f"--check {text!r} must be a mapping such as 'contains: refund'.")
    return value


def promote_run(
    root: Path,
    run_file: Path,
    *,
    reason: str,
    case_id: str | None = None,
    variant: str | None = None,
    allow_duplicate: bool = False,
    **case_fields: Any,
) -> Path:
    """Turn a stored production run into a case with the run as its baseline cassette."""
    run = files.load_envelope(run_file)["run"]
    manifest = run.get("manifest") or {}
    run_id = str(manifest.get("run_id"))
    new_id = case_id or default_case_id(str(run["case"]["id"]), run_id)
    provenance = {
        "source": "production",
        "source_run": run_id,
        "source_file": str(run_file),
        "date": str(manifest.get("started_at") or "")[:10] or today(),
        "reason": reason,
    }
    raw = build_case(new_id, run["case"].get("input"), provenance=provenance, **case_fields)
    name = variant or str(run["variant"]["name"])
    return write_case_with_cassette(root, raw, run, name, allow_duplicate=allow_duplicate)


def default_case_id(source_case: str, run_id: str) -> str:
    return safe_stem(f"prod-{source_case}-{run_id[:8]}")[:128].lstrip("._-") or run_id[:8]


def _write_cassette(run: dict[str, Any], path: Path) -> None:
    envelope = {"format": files.FORMAT, "schema_version": files.SCHEMA_VERSION, "run": run}
    files.atomic_write_text(path, json.dumps(envelope, sort_keys=True, indent=1) + "\n")


def retire(root: Path, case_id: str, reason: str, *, clock: Callable[[], str] = today) -> Path:
    """Move a case and its cassettes under ``retired/`` and log why; returns the new path."""
    if not reason.strip():
        raise CurationError("retiring a case needs a --reason: the history must say why.")
    case = find_case(root, case_id)
    assert case.path is not None
    target = root / RETIRED / case.path.relative_to(root)
    _move(case.path, target)
    cassettes = case_cassettes(root, case_id)
    if cassettes.exists():
        _move(cassettes, root / RETIRED / "cassettes" / cassettes.name)
    record = {"case_id": case_id, "date": clock(), "reason": reason, "file": str(target)}
    append_jsonl(root / HISTORY / "retired.jsonl", [record])
    return target


def _move(source: Path, target: Path) -> None:
    if target.exists():
        raise CurationError(
            f"{target} already exists (a case retired earlier under the same name); rename "
            "one of them before retiring.",
            path=target,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, target)


def retired_cases(root: Path) -> list[dict[str, Any]]:
    from pytest_opsladder.store.index import iter_index

    return list(iter_index(root / HISTORY / "retired.jsonl"))


def duplicate_groups(root: Path) -> list[list[NightmareCase]]:
    """Cases that share one canonical input, each group's keeper first (severity, then id)."""
    groups: dict[str, list[NightmareCase]] = {}
    for case in load_cases(root):
        groups.setdefault(input_hash(case.input), []).append(case)
    order = ["critical", "high", "medium", "low"]
    dupes = [g for g in groups.values() if len(g) > 1]
    return [sorted(g, key=lambda c: (order.index(c.severity.value), c.id)) for g in dupes]


def load_json_arg(text: str, what: str) -> Any:
    """``--input '{"q": 1}'`` or ``--input @file.json``."""
    try:
        if text.startswith("@"):
            return _json.parse(Path(text[1:]).read_text(encoding="utf-8"))
        return _json.parse(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{what} {text!r} is not JSON or a readable @file ({exc}).") from None
