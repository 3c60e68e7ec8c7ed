"""Stale cassettes: the recorded fingerprint no longer matches the agent (ladder level 0).

A cassette stores the variant it was recorded under (model, prompt hash, params, tool-schema
hash) and the versions of the SDKs that made its HTTP calls. When any of these changed, replay
still works but no longer proves anything about today's agent: the run is reported stale with
what changed, and ``--opsladder-rerecord-stale`` re-records only those.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_opsladder.capture.jsonable import canonical_json
from pytest_opsladder.capture.manifest import package_versions
from pytest_opsladder.capture.variant import Variant
from pytest_opsladder.capture.variant import content_hash as _hash
from pytest_opsladder.exceptions import CassetteError
from pytest_opsladder.modes import Mode, RecordMode

FINGERPRINT_FIELDS = ("model", "prompt_hash", "params_hash", "tools_hash")
SDK_PACKAGES = ("openai", "anthropic", "httpx", "httpx2", "requests", "vcrpy")


def fingerprint(variant: dict[str, Any], packages: dict[str, str]) -> dict[str, Any]:
    """The parts of a run that make its recording valid, from the run's stored dicts."""
    out = {k: variant.get(k) for k in ("model", "prompt_hash", "tools_hash")}
    out["params_hash"] = _hash(canonical_json(variant.get("params") or {}))
    out["sdk"] = {name: packages.get(name) for name in SDK_PACKAGES if packages.get(name)}
    return out


def current_fingerprint(variant: Variant, tools_hash: str | None) -> dict[str, Any]:
    return fingerprint(variant.to_dict(tools_hash), package_versions())


def changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable differences, e.g. ``prompt_hash: 1a2b.. -> 3c4d..``."""
    out = [
        f"{key}: {recorded.get(key)!r} -> {current.get(key)!r}"
        for key in FINGERPRINT_FIELDS
        if recorded.get(key) != current.get(key)
    ]
    rec_sdk, cur_sdk = recorded.get("sdk") or {}, current.get("sdk") or {}
    for name in sorted(set(rec_sdk) | set(cur_sdk)):
        if rec_sdk.get(name) != cur_sdk.get(name):
            out.append(f"{name}: {rec_sdk.get(name)!r} -> {cur_sdk.get(name)!r}")
    return out


def recorded_fingerprint(envelope_run: dict[str, Any]) -> dict[str, Any]:
    packages = (envelope_run.get("manifest") or {}).get("packages") or {}
    return fingerprint(envelope_run.get("variant") or {}, packages)


def cassette_changes(path: Path, variant: Variant, tools_hash: str | None) -> list[str]:
    """What changed since the cassette at ``path`` was recorded ([] when fresh or absent).

    Reads the stored hashes from the file itself: a prompt given as a file path would be
    re-read (and re-hashed) by loading the run, hiding exactly the change we look for.
    """
    from pytest_opsladder.cassette import files

    if not path.exists():
        return []
    try:
        envelope = files.load_envelope(path)
    except CassetteError:
        return []  # a broken cassette is reported by replay, with its own error
    return changes(recorded_fingerprint(envelope["run"]), current_fingerprint(variant, tools_hash))


def plan_for_stale(
    rerecord: bool,
    path: Path,
    variant: Variant,
    tools_hash: str | None,
    mode: Mode,
    record_mode: RecordMode,
) -> tuple[Mode, RecordMode]:
    """The (mode, record mode) of a run under ``--opsladder-rerecord-stale``.

    A stale cassette is re-recorded from scratch (record mode
    ``all``); a fresh one keeps the session's modes, so
    only the stale cases go out live. Shadow runs are never re-recorded.
    """
    if not rerecord or mode is Mode.SHADOW:
        return mode, record_mode
    if cassette_changes(path, variant, tools_hash):
        # `all`, not `rewrite`: a re-record that fails must not replace the good cassette
        return Mode.RECORD, RecordMode.ALL
    return mode, record_mode
