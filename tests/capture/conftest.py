"""Shared by the level-0 plugin tests: keep in-process pytester sessions light."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _light_pytester_sessions(request: pytest.FixtureRequest) -> None:
    """Pytester restores sys.modules after each in-process session, so hypothesis's pytest plugin
    (when hypothesis is installed) re-imports all of hypothesis at every session's summary: ~4 s
    a session. The sessions under test never use it; blocking it changes nothing they check."""
    if "pytester" not in request.fixturenames:
        return
    request.getfixturevalue("pytester")  # pytester clears PYTEST_ADDOPTS; set ours after it
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")
