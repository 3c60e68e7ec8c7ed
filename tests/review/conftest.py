"""A store with a few production runs, one of which outputs a <script>."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_opsladder.capture.production import capture

XSS = (
    "<script>window.__pwned = 1; document.title = 'pwned'</script>"
    '<img src=x onerror="window.__pwned=2">'
)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    for i in range(3):
        with capture(f"ticket-{i}", "prod", root, input={"message": f"help {i}"}) as run:
            run.output = {"reply": XSS if i == 0 else f"fine {i}"}
    return root
