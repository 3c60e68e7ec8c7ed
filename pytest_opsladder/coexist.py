"""Fitting into any pytest suite: checks that fail early and clearly, not late (ladder level 0).

- A test carrying both pytest-recording's ``vcr`` marker and ours: both plugins patch the same
  HTTP libraries through vcrpy, and while a run is active its patches answer, so the ``vcr``
  cassette silently records nothing and its replay fails later. Such a test is a collection
  error saying which marker to drop.
- The report directory of shadow mode is checked at configure: an unwritable one is a
  ``pytest.UsageError`` naming it before any case runs, not a traceback at the end.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder import options as opt

VCR_MARKER = "vcr"  # pytest-recording's (and pytest-vcr's) marker


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    made = yield
    items = made if isinstance(made, list) else [made]
    for item in items:
        if isinstance(item, pytest.Item) and _double_recorded(item):
            raise collector.CollectError(_double_marker_message(item))
    return made


def _double_recorded(item: pytest.Item) -> bool:
    if item.get_closest_marker(VCR_MARKER) is None:
        return False
    uses_run = "opsladder_run" in getattr(item, "fixturenames", ())
    return uses_run or item.get_closest_marker(opt.MARKER) is not None


def _double_marker_message(item: pytest.Item) -> str:
    return (
        f"{item.nodeid}: marked both @pytest.mark.{VCR_MARKER} (pytest-recording) and "
        f"@pytest.mark.{opt.MARKER} (or uses the opsladder_run fixture). Both record HTTP through "
        "vcrpy and only one can own a request: with both, the vcr cassette records nothing. "
        f"Drop @pytest.mark.{VCR_MARKER}: the opsladder run records this test's HTTP (httpx, "
        "requests, urllib3, aiohttp) into its own cassette. Or drop the opsladder marker and "
        "fixture if this test is not an agent run."
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    from pytest_opsladder.stash_keys import SETTINGS_KEY

    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or settings.mode.value != "shadow" or hasattr(config, "workerinput"):
        return  # only shadow mode writes reports, and only the controller writes them
    problem = unwritable_reason(settings.report_dir or settings.rootdir / "reports")
    if problem:
        raise pytest.UsageError(problem)


def unwritable_reason(directory: Path) -> str | None:
    """Why shadow mode could not write its reports into ``directory``, or None if it can."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    why = _probe(existing) if existing.is_dir() else f"{existing} is a file, not a directory"
    if why is None:
        return None
    return (
        f"the report directory {str(directory)!r} is not writable: {why}. Shadow mode writes its "
        "results and reports there at the end of the session. Fix: make it writable, or point "
        f"{opt.OPT_REPORT_DIR} / ini {opt.INI_REPORT_DIR} at a writable directory."
    )


def _probe(directory: Path) -> str | None:
    """Create and remove a file: permission bits alone lie (root, ACLs, read-only mounts)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".opsladder-probe-", dir=directory)
    except OSError as exc:
        return f"cannot create a file in {directory} ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(name)
    return None
