"""Hook specifications of pytest-opsladder, added in ``pytest_addhooks``.

Implement them in a ``conftest.py`` or a plugin. Each is called by the rung named in its
docstring; its return value is checked where it is called, and a wrong type is a
``pytest.UsageError`` naming the hook.

Mark implementations ``@pytest.hookimpl(optionalhook=True)``: pytest validates every hook a
conftest implements against the known specs, and with the plugin switched off
(``-p no:opsladder``) these specs are never added, so an unmarked implementation stops the run
with "unknown hook"; a marked one is simply not called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.variant import Case, Variant

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_opsladder_variants() -> list[Variant]:  # type: ignore[empty-body]
    """Declare the variants (prompt/model/params) the agent can run under (levels 0 and 7).

    Every implementation's list is merged; names must be unique. The baseline is named by the
    ``opsladder_baseline`` ini key.
    """


@hookspec
def pytest_opsladder_run_metrics(run: Run) -> dict[str, Any] | None:
    """Return extra metrics for a finished run; they become columns of the metrics table."""


@hookspec(firstresult=True)
def pytest_opsladder_cassette_path(
    nodeid: str, case_id: str, variant: Variant, epoch: int
) -> Path | None:
    """Return where the cassette of this run lives, to override the default layout."""


@hookspec(firstresult=True)
def pytest_opsladder_build_agent(
    config: pytest.Config, variant: Variant, case: Case, workdir: Path
) -> Any:
    """Return the agent (a callable: case input -> output, sync or async) for ``variant``.

    Optional. Implement it to let shadow mode run candidates concurrently
    (``--opsladder-concurrency N``): the fixture ``opsladder_agent`` cannot be called outside
    a test item, a hook can. Without an ``opsladder_agent`` fixture of yours, the default one
    calls this hook too, so the test items (record, replay, serial shadow) run the same agent.
    ``workdir`` is a fresh directory for the run's local state.
    Each agent is built just before its run, in the thread that runs it: with concurrency N
    the hook is called from up to N threads at once, like the agents it returns (and, with
    ``--opsladder-workers``, in each worker process).
    """


@hookspec
def pytest_opsladder_run_finished(run: Run, cassette: Path | None) -> None:
    """Called after every run ends and is persisted (for exporters, alerting, custom stores)."""
