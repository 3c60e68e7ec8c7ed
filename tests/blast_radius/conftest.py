"""Keep the process-wide tool registry as it was: tools defined by these tests must not change
the tools hash (and so the staleness check) of any other test's run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_tool_registry() -> Iterator[None]:
    from pytest_opsladder.capture import tools

    saved = dict(tools._TOOLS)
    yield
    tools._TOOLS.clear()
    tools._TOOLS.update(saved)
