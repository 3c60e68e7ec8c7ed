"""The manifest of a run: which code, which packages, which machine (ladder level 0)."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

# Packages whose versions change an agent's behaviour or its recording; absent ones are skipped.
TRACKED_PACKAGES = (
    "pytest-opsladder",
    "pytest",
    "vcrpy",
    "openai",
    "anthropic",
    "httpx",
    "httpx2",
    "requests",
    "pandas",
    "scipy",
)


@functools.cache
def package_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@functools.cache
def git_state(cwd: str | None = None) -> dict[str, Any]:
    """The commit and dirty flag of the checkout the run happened in (cached per process)."""
    where = cwd or str(Path.cwd())
    commit = _git(["rev-parse", "HEAD"], where)
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return {"commit": commit, "dirty": bool(status)}


def _git(args: list[str], cwd: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def base_manifest(run_id: str, started_at: str) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "started_at": started_at,
        "ended_at": None,
        "python": platform.python_version(),
        "packages": package_versions(),
        "git": git_state(),
        "request_model": None,
        "response_model": None,
    }
