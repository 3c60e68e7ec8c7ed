"""Shadow candidate runs in several processes: ``--opsladder-workers N`` (ladder level 7).

Threads (``--opsladder-concurrency``) overlap the model's latency, but every request's client
work (the SDK building it, the plugin recording it) runs on one GIL: a second core sits idle.
With N workers the controller hands the candidate cases round-robin to N-1 worker processes
and keeps one share itself; each runs its share with the configured concurrency. A worker is
``python -m pytest`` with the session's own arguments (so it collects the same cases and
loads the same conftest), told by a plan file which cases are its share. It runs them exactly
as the controller would (the same ``pytest_opsladder_build_agent`` hook, the same recorder),
writes each finished candidate run as JSON and exits before running any test item. The
controller then gives each case item its candidate run, and the items report, pair and score
as in a serial run: the verdict is computed once, on every run, never per worker.

Under pytest-xdist (``-n``) the xdist workers already are the processes: ``--opsladder-workers``
is ignored there with a notice. A worker that fails leaves its cases to the controller, which
runs them in the items, one at a time: a case is never lost to a broken worker.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_opsladder.drift.worker_pool import (
    OPT_PLAN,
    Worker,
    adopt,
    collect,
    end_worker,
    spawn,
    split,
)
from pytest_opsladder.exceptions import ConfigError

if TYPE_CHECKING:
    from pytest_opsladder.settings import Settings

OPT_WORKERS = "--opsladder-workers"
INI_WORKERS = "opsladder_workers"
WORKERS_KEY = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("opsladder")
    group.addoption(
        OPT_WORKERS,
        dest="opsladder_workers",
        default=None,
        metavar="N",
        help="shadow: run candidate cases in N processes (each at --opsladder-concurrency; "
        "'auto' = one per core; needs the pytest_opsladder_build_agent hook; ignored under "
        f"-n, where xdist's workers are the processes). ini: {INI_WORKERS}",
    )
    group.addoption(OPT_PLAN, dest="opsladder_worker_plan", default=None, help="(internal)")
    parser.addini(INI_WORKERS, "shadow: candidate processes (a number or 'auto')", default="")


def parse_workers(value: str | int | None) -> int:
    """``--opsladder-workers`` as a number of processes: a whole number >= 1, or ``auto``."""
    if value is None or value == "":
        return 1
    if str(value).strip().lower() == "auto":
        return max(1, os.cpu_count() or 1)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ConfigError(
            f"{OPT_WORKERS} / {INI_WORKERS} must be a whole number of at least 1 or 'auto', got "
            f"{value!r}. Fix: e.g. {OPT_WORKERS}=2, or {OPT_WORKERS}=auto for one per core."
        )
    return number


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("opsladder_workers")
    if value is None:
        value = config.getini(INI_WORKERS) or None
    try:
        config.stash[WORKERS_KEY] = parse_workers(value)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.stash[WORKERS_KEY] > 1 and under_xdist(config) and not hasattr(config, "workerinput"):
        config.stash[WORKERS_KEY] = 1
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(
                f"{OPT_WORKERS} is ignored under -n: pytest-xdist's workers are the processes "
                "(each runs its cases one at a time). Use one or the other."
            ),
            stacklevel=2,
        )


def workers_of(config: pytest.Config) -> int:
    """Processes for candidate runs (1 when not asked for, under xdist, or in a worker)."""
    if hasattr(config, "workerinput") or config.getoption("opsladder_worker_plan"):
        return 1
    return config.stash.get(WORKERS_KEY, 1)


def is_worker(config: pytest.Config) -> bool:
    return bool(config.getoption("opsladder_worker_plan"))


def under_xdist(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) or hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """A worker reaching the test loop had no shadow prefetch to run (drift.plugin's wrapper
    ends the process when it has): it ends here, quietly, running no test item."""
    if is_worker(session.config):
        end_worker(None)


# -- the controller's side of prefetch ---------------------------------------------------------
def eligible(items: list[pytest.Item]) -> list[pytest.Item]:
    """The items a worker can run: nightmare cases (their agent comes from the hook)."""
    from pytest_opsladder.stash_keys import NIGHTMARE_CASE

    return [item for item in items if NIGHTMARE_CASE in item.stash]


def notice(config: pytest.Config, message: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(message, yellow=True)


POOL_KEY = pytest.StashKey[tuple[Any, list[Worker]]]()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Start the workers as soon as the options are known: a worker's own start-up (a new
    interpreter, pytest, the plugins) then overlaps the controller's, and it collects while
    the controller does. A worker the session turns out not to need is ended at unconfigure."""
    ns = early_config.known_args_namespace
    if os.name != "posix" or getattr(ns, "opsladder_worker_plan", None):
        return
    if getattr(ns, "collectonly", False) or getattr(ns, "numprocesses", None):
        return
    workers = _early_workers(early_config)
    if workers < 2 or not _may_shadow(early_config):
        return
    tmp = tempfile.TemporaryDirectory(prefix="opsladder-shadow-workers-")
    pool = [spawn(early_config, Path(tmp.name), k, early=True) for k in range(1, workers)]
    early_config.stash[POOL_KEY] = (tmp, pool)


def _early_workers(config: pytest.Config) -> int:
    value = getattr(config.known_args_namespace, "opsladder_workers", None)
    try:
        return parse_workers(value if value is not None else config.getini(INI_WORKERS) or None)
    except (ConfigError, ValueError):
        return 1  # a bad value is reported at configure, as a usage error


def _may_shadow(config: pytest.Config) -> bool:
    ns = config.known_args_namespace
    if getattr(ns, "opsladder_shadow", False) or getattr(ns, "opsladder_mode", None) == "shadow":
        return True
    try:
        return (
            getattr(ns, "opsladder_mode", None) is None
            and config.getini("opsladder_mode") == "shadow"
        )
    except ValueError:
        return False


def pytest_unconfigure(config: pytest.Config) -> None:
    """Workers that never got a plan are told to end (and made to, if they do not)."""
    tmp, pool = config.stash.get(POOL_KEY, (None, []))
    for worker in pool:
        if worker.plan_fd is not None:
            worker.send([])
        try:
            worker.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.proc.kill()
            worker.proc.wait()
    if tmp is not None:
        tmp.cleanup()
    config.stash[POOL_KEY] = (None, [])


def _pool(config: pytest.Config, workers: int) -> list[Worker]:
    """The workers started early, or (not POSIX) ones started now, after their plans."""
    tmp, pool = config.stash.get(POOL_KEY, (None, []))
    if tmp is None:
        tmp = tempfile.TemporaryDirectory(prefix="opsladder-shadow-workers-")
        config.stash[POOL_KEY] = (tmp, [])
    return pool


def run_in_workers(
    session: pytest.Session,
    settings: Settings,
    workers: int,
    run_share: Any,
    on_adopted: Any,
) -> None:
    """Give the workers their shares, run share 0 here with ``run_share(items)``, then hand
    each worker's runs to its items through ``on_adopted(item, recorder)``."""
    config = session.config
    items = eligible(session.items)
    by_id = {item.nodeid: item for item in items}
    shares = split([item.nodeid for item in items], workers)
    pool = _pool(config, workers)
    tmp = Path(config.stash[POOL_KEY][0].name)
    if not pool:  # started late: each needs its plan file before it starts
        for k in range(1, workers):
            Worker(None, tmp, k, None).send(shares[k])  # type: ignore[arg-type]
        pool = [spawn(config, tmp, k, early=False) for k in range(1, workers)]
        config.stash[POOL_KEY] = (config.stash[POOL_KEY][0], pool)
    for worker in pool:
        worker.send(shares[worker.k])
    try:
        run_share([by_id[n] for n in shares[0]])
    finally:
        results = [collect(worker) for worker in pool]
    for k, (runs, failure) in enumerate(results, start=1):
        if failure is not None:
            notice(config, f"opsladder: shadow worker {k} of {workers} failed ({failure}); "
                   "its cases without a run run here, one at a time.")  # fmt: skip
        for nodeid, raw in runs.items():
            recorder = adopt(by_id[nodeid], settings, raw) if nodeid in by_id else None
            if recorder is not None:
                on_adopted(by_id[nodeid], recorder)
