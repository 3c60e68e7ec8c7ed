"""Wires the shipped demo agent (pytest_opsladder.demo) into this repository's runs.

A user's conftest.py looks like this one: declare the variants, build the agent for a variant.
In replay mode nothing is served: every model call and tool result comes from the cassettes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder import Run, Variant
from pytest_opsladder.demo import REPLAY_BASE_URL, build_agent, demo_variants, serve_model
from pytest_opsladder.settings import Settings


def pytest_opsladder_variants() -> list[Variant]:
    return demo_variants()


@pytest.fixture(scope="session")
def demo_model_url(opsladder_settings: Settings) -> Iterator[str]:
    """The demo model's base URL: served on loopback when runs may go live, else unreachable."""
    if opsladder_settings.mode.value == "replay" or opsladder_settings.record_mode.value == "none":
        yield REPLAY_BASE_URL
        return
    with serve_model(latency_s=0.01, latency_per_token_s=0.0005) as url:
        yield url


@pytest.fixture
def opsladder_agent(
    opsladder_variant: Variant, opsladder_run: Run, demo_model_url: str, tmp_path: Path
) -> Callable[[Any], Any]:
    """The demo content agent for this run's variant, with a fresh CMS seeded from the case."""
    agent = build_agent(opsladder_variant, demo_model_url, tmp_path / "cms.sqlite3")
    case_input = opsladder_run.case.input or {}
    for post in case_input.get("existing_posts", []):
        agent.cms.create_draft(post["source"], post["title"], "", "", [])
    return agent
