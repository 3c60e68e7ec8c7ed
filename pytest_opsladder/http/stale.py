"""Stale cassettes: the recorded fingerprint no longer matches the agent (ladder level 0).

A cassette stores the variant it was recorded under (model, prompt hash, params, tool-schema
hash) and the versions of the SDKs that made its HTTP calls (read from each recorded request's
User-Agent, so only SDKs the run actually called through count). When any of these changed,
replay still works but no longer proves anything about today's agent: the run is reported
stale with what changed, and ``--opsladder-rerecord-stale`` re-records only those. SDK versions
count at the level of ``opsladder_stale_sdk`` (``major`` by default, ``minor``, ``exact``): a
fresh install that pulls newer minor releases does not make every cassette stale.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_opsladder.capture.jsonable import canonical_json
from pytest_opsladder.capture.manifest import package_versions
from pytest_opsladder.capture.variant import Variant
from pytest_opsladder.capture.variant import content_hash as _hash
from pytest_opsladder.choices import parse_choice
from pytest_opsladder.exceptions import CassetteError
from pytest_opsladder.http.errors import HttpConfigError
from pytest_opsladder.modes import Mode, RecordMode

FINGERPRINT_FIELDS = ("model", "prompt_hash", "params_hash", "tools_hash")
INI_STALE_SDK = "opsladder_stale_sdk"
# Which SDK sent a request, from its User-Agent: a run is stale only for the SDKs it called
# through (an anthropic release says nothing about a run that only spoke to OpenAI).
SDK_USER_AGENTS: dict[str, re.Pattern[str]] = {
    "openai": re.compile(r"\bOpenAI/Python ([\w.+-]+)"),
    "anthropic": re.compile(r"\bAnthropic/Python ([\w.+-]+)"),
    "httpx": re.compile(r"\bpython-httpx/([\w.+-]+)"),
    "requests": re.compile(r"\bpython-requests/([\w.+-]+)"),
    "urllib3": re.compile(r"\bpython-urllib3/([\w.+-]+)"),
    "aiohttp": re.compile(r"\baiohttp/([\w.+-]+)"),
}


class SdkLevel(StrEnum):
    """How big an SDK version change must be to make a cassette stale."""

    MAJOR = "major"  # 1.x -> 2.x (0.3.x -> 0.4.x: under 1.0 the minor is the breaking part)
    MINOR = "minor"  # 1.54 -> 1.57
    EXACT = "exact"  # any change, patch releases included

    @classmethod
    def parse(cls, value: object) -> SdkLevel:
        return parse_choice(
            cls,
            value,
            setting="level",
            error=HttpConfigError,
            where=f"{INI_STALE_SDK} = ",
            fix="The default, 'major', makes only a major SDK release make a cassette stale.",
            fold_case=True,
        )


_LEVEL = [SdkLevel.MAJOR]  # the session's level, set once from the ini when pytest configures


def set_sdk_level(value: object) -> SdkLevel:
    """Set the process-wide SDK staleness level (from ``opsladder_stale_sdk``); return it."""
    _LEVEL[0] = SdkLevel.parse(value if value not in (None, "") else SdkLevel.MAJOR.value)
    return _LEVEL[0]


def configure_sdk_level(config: Any) -> SdkLevel:
    """Set the level from a pytest config's ini for the session; the old one comes back at
    its end (a pytester run inside a test session must not change the outer session's)."""
    previous = _LEVEL[0]
    level = set_sdk_level(config.getini(INI_STALE_SDK))
    config.add_cleanup(lambda: set_sdk_level(previous.value))
    return level


def sdk_level() -> SdkLevel:
    return _LEVEL[0]


def sdks_called(http: Any) -> dict[str, str]:
    """SDK name -> the version its User-Agent announced, for every recorded interaction."""
    out: dict[str, str] = {}
    for item in http if isinstance(http, list) else []:
        headers = ((item or {}).get("request") or {}).get("headers") or {}
        agents = headers.get("user-agent") or headers.get("User-Agent") or []
        for agent in [agents] if isinstance(agents, str) else agents:
            for name, pattern in SDK_USER_AGENTS.items():
                found = pattern.search(str(agent))
                if found:
                    out.setdefault(name, found.group(1))
    return out


def fingerprint(
    variant: dict[str, Any], packages: dict[str, str], sdks: dict[str, str] | None = None
) -> dict[str, Any]:
    """The parts of a run that make its recording valid: the variant, and the versions of
    the SDKs in ``sdks`` (those the run called through; their installed or recorded version)."""
    out = {k: variant.get(k) for k in ("model", "prompt_hash", "tools_hash")}
    out["params_hash"] = _hash(canonical_json(variant.get("params") or {}))
    out["sdk"] = {name: packages.get(name) or seen for name, seen in (sdks or {}).items()}
    return out


def current_fingerprint(
    variant: Variant, tools_hash: str | None, sdks: dict[str, str] | None = None
) -> dict[str, Any]:
    return fingerprint(variant.to_dict(tools_hash), package_versions(), sdks)


def changes(
    recorded: dict[str, Any], current: dict[str, Any], level: SdkLevel | None = None
) -> list[str]:
    """Human-readable differences, e.g. ``prompt_hash: 1a2b.. -> 3c4d..``; SDK versions
    compared at ``level`` (default: the session's ``opsladder_stale_sdk``)."""
    level = level or sdk_level()
    out = [
        f"{key}: {recorded.get(key)!r} -> {current.get(key)!r}"
        for key in FINGERPRINT_FIELDS
        if recorded.get(key) != current.get(key)
    ]
    rec_sdk, cur_sdk = recorded.get("sdk") or {}, current.get("sdk") or {}
    for name in sorted(set(rec_sdk) & set(cur_sdk)):
        if version_key(rec_sdk[name], level) != version_key(cur_sdk[name], level):
            out.append(f"{name}: {rec_sdk[name]!r} -> {cur_sdk[name]!r} ({level.value} change)")
    return out


def version_key(version: Any, level: SdkLevel) -> tuple[Any, ...]:
    """The part of a version that counts at ``level``: ``1.54.0`` -> ``(1,)`` for major."""
    text = str(version)
    if level is SdkLevel.EXACT:
        return (text,)
    parts = [int(p) if p.isdigit() else p for p in re.split(r"[.+-]", text)]
    leading = next((i for i, p in enumerate(parts) if p != 0), len(parts) - 1)
    keep = leading + (1 if level is SdkLevel.MAJOR else 2)
    return tuple(parts[:keep])


def recorded_fingerprint(envelope_run: dict[str, Any]) -> dict[str, Any]:
    packages = (envelope_run.get("manifest") or {}).get("packages") or {}
    sdks = sdks_called(envelope_run.get("http"))
    return fingerprint(envelope_run.get("variant") or {}, packages, sdks)


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
    recorded = recorded_fingerprint(envelope["run"])
    current = current_fingerprint(variant, tools_hash, recorded["sdk"])
    return changes(recorded, current)


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
        # from scratch, and a re-record that fails never replaces the good cassette
        return Mode.RECORD, RecordMode.ALL
    return mode, record_mode
