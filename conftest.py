"""Wires the shipped demo agent (pytest_opsladder.demo) into this repository's runs.

A user's conftest.py looks like this one: declare the variants, build the agent for a variant.
The hook lets shadow mode build agents outside test items, to run candidates concurrently
(--opsladder-concurrency); the fixture serves the test items. In replay mode nothing is
served: every model call and tool result comes from the cassettes. The hooks are marked
``optionalhook``: a run with the plugin switched off (``-p no:opsladder``) then ignores them
instead of stopping on an unknown hook.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

import pytest_opsladder
from pytest_opsladder import Case, Run, Variant
from pytest_opsladder.demo import (
    REPLAY_BASE_URL,
    build_agent,
    demo_variants,
    seed_existing_posts,
    serve_model,
)

DEMO_JUDGE = "demo-judge-1"
_MODEL = ExitStack()
_URL: dict[str, str] = {}
_URL_LOCK = threading.Lock()


@pytest.hookimpl(optionalhook=True)
def pytest_opsladder_variants() -> list[Variant]:
    return demo_variants()


def pytest_addoption(parser: pytest.Parser) -> None:
    """pyproject.toml sets pytest-asyncio's loop-scope key (its warning is fatal under
    filterwarnings=error); where pytest-asyncio is not loaded, --strict-config must accept it."""
    if "asyncio_default_fixture_loop_scope" not in parser._inidict:
        parser.addini("asyncio_default_fixture_loop_scope", "pytest-asyncio's (not loaded)")


def demo_model_url(config: pytest.Config) -> str:
    """The demo model's base URL: served on loopback when runs may go live, else unreachable.
    Started by the first agent built (shadow builds agents in several threads at once)."""
    if not pytest_opsladder.settings(config).live:
        return REPLAY_BASE_URL
    with _URL_LOCK:
        if "url" not in _URL:
            served = serve_model(latency_s=0.01, latency_per_token_s=5e-4)
            _URL["url"] = _MODEL.enter_context(served)
    return _URL["url"]


def pytest_unconfigure(config: pytest.Config) -> None:
    _MODEL.close()
    _URL.clear()


def _agent(config: pytest.Config, variant: Variant, case_input: Any, workdir: Path) -> Any:
    url = demo_model_url(config)
    # the cases' judge checks grade summaries with the demo's deterministic judge model, served
    # by the same loopback endpoint (replay never calls it: judge calls replay from cassettes)
    pytest_opsladder.configure_judge(model=DEMO_JUDGE, base_url=url)
    agent = build_agent(variant, url, workdir / "cms.sqlite3")
    seed_existing_posts(agent, case_input)  # the world the case starts in (earlier runs' drafts)
    return agent


@pytest.hookimpl(optionalhook=True)
def pytest_opsladder_build_agent(
    config: pytest.Config, variant: Variant, case: Case, workdir: Path
) -> Callable[[Any], Any]:
    return _agent(config, variant, case.input, workdir)  # type: ignore[no-any-return]


@pytest.fixture
def opsladder_agent(
    pytestconfig: pytest.Config, opsladder_variant: Variant, opsladder_run: Run, tmp_path: Path
) -> Callable[[Any], Any]:
    """The demo content agent for this run's variant, with a fresh CMS seeded from the case."""
    return _agent(pytestconfig, opsladder_variant, opsladder_run.case.input, tmp_path)  # type: ignore[no-any-return]
