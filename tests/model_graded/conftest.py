"""Fixtures of the model-graded check tests: a loopback judge and a small agent project."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from judge_servers import JudgeServer

from pytest_opsladder.model_graded import spec


@pytest.fixture
def judge_server() -> Iterator[JudgeServer]:
    server = JudgeServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _fresh_judge_defaults() -> Iterator[None]:
    """configure_judge() sets process-wide defaults: each test starts from none."""
    saved = dict(spec._DEFAULTS)
    spec._DEFAULTS.clear()
    yield
    spec._DEFAULTS.clear()
    spec._DEFAULTS.update(saved)
