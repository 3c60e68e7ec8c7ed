"""Shadow candidate runs in several processes: ``--opsladder-workers N`` (ladder level 7).

Threads (``--opsladder-concurrency``) overlap the model's latency, but every request's client
work (the SDK building it, the plugin recording it) runs on one GIL: a second core sits idle.
With N workers the controller hands the candidate cases round-robin to N-1 worker processes
and keeps one share itself; each runs its share with the configured concurrency, the same
``pytest_opsladder_build_agent`` hook and the same recorder, and hands back its finished
candidate runs. The controller then gives each case item its candidate run, and the items
report, pair and score as in a serial run: the verdict is computed once, on every run, never
per worker.

How the workers start:

- **fork** (Linux and other POSIX systems but macOS; the default): when the prefetch starts,
  after collection and before any agent is built, the controller forks the N-1 workers, which
  hold the collected session already: they start at once. See :mod:`.worker_fork` for when
  fork is safe (no other Python thread alive in the controller) and what a child does.
- **spawn** (the fallback: no fork on the platform, macOS, or another thread alive): a worker
  is ``python -m pytest`` with the session's own arguments (so it collects the same cases and
  loads the same conftest), told by a plan file which cases are its share; it runs them,
  writes its runs as JSON and exits before running any test item. On POSIX it is started
  early, so its own start-up and collection overlap the controller's: at
  ``pytest_load_initial_conftests`` where fork is never used (macOS), at session start where
  threads are already alive then; otherwise (Windows, or a thread started during collection)
  once the plans are known.

Under pytest-xdist (``-n``) the xdist workers already are the processes: ``--opsladder-workers``
is ignored there with a notice. A worker that fails (crashes, is killed, writes nothing, or
still runs ``opsladder_workers_timeout`` seconds after the controller's own share ended) leaves
its cases to the controller, which runs them in the items, one at a time: a case is never lost.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_opsladder.drift.worker_fork import MACOS_UNSAFE, fork_platform, fork_unsafe_reason
from pytest_opsladder.drift.worker_pool import (
    OPT_PLAN,
    Worker,
    adopt,
    collect,
    end_worker,
    read_runs,
    rebuilt_hook_error,
    rebuilt_item_error,
    spawn,
    split,
)
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.ini import add_number_ini, ini_text
from pytest_opsladder.stash_keys import PREFETCH_ERROR_KEY

if TYPE_CHECKING:
    from pytest_opsladder.drift.worker_fork import Child
    from pytest_opsladder.settings import Settings

OPT_WORKERS = "--opsladder-workers"
INI_WORKERS = "opsladder_workers"
INI_TIMEOUT = "opsladder_workers_timeout"
WORKERS_KEY = pytest.StashKey[int]()
SPAWN_REASON_KEY = pytest.StashKey[str]()
TIMEOUT_KEY = pytest.StashKey["float | None"]()
EXITING_KEY = pytest.StashKey[list["Child"]]()


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
    add_number_ini(parser, INI_WORKERS, "shadow: candidate processes (a number or 'auto')", "")
    add_number_ini(
        parser,
        INI_TIMEOUT,
        "shadow: seconds a worker process may still run after the controller's own share "
        "ended before it is killed and its cases run in their items (default: 60, or twice "
        "the controller's share if longer)",
        default="",
        fractional=True,
    )


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
    from pytest_opsladder.ini import named_origin

    value = config.getoption("opsladder_workers")
    if value is None:
        value = ini_text(config, INI_WORKERS)

    try:
        with named_origin(config, INI_WORKERS, dest="opsladder_workers", flag=OPT_WORKERS):
            config.stash[WORKERS_KEY] = parse_workers(value)
        with named_origin(config, INI_TIMEOUT):
            config.stash[TIMEOUT_KEY] = parse_timeout(ini_text(config, INI_TIMEOUT))
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
    """Where workers are always spawned (POSIX without a safe fork: macOS), start them as soon
    as the options are known: a worker's own start-up (a new interpreter, pytest, the plugins)
    then overlaps the controller's, and it collects while the controller does. A worker the
    session turns out not to need is ended at unconfigure."""
    ns = early_config.known_args_namespace
    if os.name != "posix" or fork_platform() or getattr(ns, "opsladder_worker_plan", None):
        return
    if getattr(ns, "collectonly", False) or getattr(ns, "numprocesses", None):
        return
    workers = _early_workers(early_config)
    if workers < 2 or not _may_shadow(early_config):
        return
    _spawn_early(early_config, workers, MACOS_UNSAFE)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Where workers are forked, they are forked at the prefetch, after collection; but a
    session that already runs other threads now (a conftest's server, an exporter) will not
    fork (see :mod:`.worker_fork`): its workers are spawned now, to collect alongside."""
    config = session.config
    if not fork_platform() or config.stash.get(POOL_KEY, (None, []))[1]:
        return
    if workers_of(config) < 2 or config.option.collectonly or not _may_prefetch(config):
        return
    reason = fork_unsafe_reason()
    if reason is not None:
        _spawn_early(config, workers_of(config), reason)


def _spawn_early(config: pytest.Config, workers: int, reason: str) -> None:
    tmp = tempfile.TemporaryDirectory(prefix="opsladder-shadow-workers-")
    pool = [spawn(config, Path(tmp.name), k, early=True) for k in range(1, workers)]
    config.stash[POOL_KEY] = (tmp, pool)
    config.stash[SPAWN_REASON_KEY] = reason


def _may_prefetch(config: pytest.Config) -> bool:
    """A shadow session whose conftest builds agents: the prefetch will run."""
    from pytest_opsladder.stash_keys import SETTINGS_KEY

    settings = config.stash.get(SETTINGS_KEY, None)
    hook = config.pluginmanager.hook.pytest_opsladder_build_agent
    return settings is not None and settings.mode.value == "shadow" and bool(hook.get_hookimpls())


def _early_workers(config: pytest.Config) -> int:
    value = getattr(config.known_args_namespace, "opsladder_workers", None)
    try:
        return parse_workers(value if value is not None else ini_text(config, INI_WORKERS))
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
    """Workers that never got a plan are told to end (and made to, if they do not); forked
    workers that were still exiting after writing their runs are reaped."""
    from pytest_opsladder.drift.worker_fork import reap

    reap(config.stash.get(EXITING_KEY, []))
    config.stash[EXITING_KEY] = []
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


def parse_timeout(value: str | None) -> float | None:
    """``opsladder_workers_timeout`` in seconds (None: not set)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also NaN
        raise ConfigError(
            f"{INI_TIMEOUT} must be a number of seconds (0 or more), got {text!r}. Fix: e.g. "
            f"{INI_TIMEOUT} = 120, or remove it for the default (60 s, or twice the "
            "controller's own share if longer)."
        )
    return seconds


def workers_timeout(config: pytest.Config, own_share_s: float) -> float:
    """Seconds a worker may still run after the controller's own share ended."""
    seconds = config.stash.get(TIMEOUT_KEY, None)
    return max(60.0, 2 * own_share_s) if seconds is None else seconds


def run_in_workers(
    session: pytest.Session,
    settings: Settings,
    workers: int,
    run_share: Any,
    on_adopted: Any,
) -> None:
    """Start the workers on their shares (forked, or spawned: see the module docstring), run
    share 0 here with ``run_share(items)``, then hand each worker's runs to its items through
    ``on_adopted(item, recorder)``."""
    config = session.config
    items = eligible(session.items)
    by_id = {item.nodeid: item for item in items}
    workers = max(1, min(workers, len(items)))  # no process without a case to run
    shares = split([item.nodeid for item in items], workers)
    pool = config.stash.get(POOL_KEY, (None, []))[1]
    reason = config.stash.get(SPAWN_REASON_KEY, None) if pool else fork_unsafe_reason()
    _say_how(config, len(items), workers, settings.concurrency, reason)
    if reason is None:
        results = _run_forked(config, settings, shares, by_id, run_share)
    else:
        results = _run_spawned(config, shares, by_id, run_share)
    for k, (runs, failure) in results:
        if failure is not None:
            notice(config, f"opsladder: shadow worker {k} of {workers} failed ({failure}); "
                   "its cases without a run run here, one at a time.")  # fmt: skip
        for nodeid, raw in runs.items():
            if "hook_error" in raw and nodeid in by_id:  # its item raises it, as here
                by_id[nodeid].stash[PREFETCH_ERROR_KEY] = rebuilt_hook_error(raw["hook_error"])
                continue
            recorder = adopt(by_id[nodeid], settings, raw) if nodeid in by_id else None
            if recorder is not None:
                on_adopted(by_id[nodeid], recorder)
                if "item_error" in raw:  # raised by its item, as a serial or threaded run does
                    by_id[nodeid].stash[PREFETCH_ERROR_KEY] = rebuilt_item_error(raw["item_error"])


Results = list[tuple[int, tuple[dict[str, Any], str | None]]]


def _say_how(
    config: pytest.Config, cases: int, workers: int, concurrency: int, reason: str | None
) -> None:
    if config.get_verbosity() < 0:
        return
    how = "fork" if reason is None else f"spawn: {reason}"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        counted = f"{cases} case{'' if cases == 1 else 's'} in {workers} process" + (
            "" if workers == 1 else "es"
        )
        reporter.write_line(f"opsladder shadow: {counted} ({how}), concurrency {concurrency} each")


def _run_forked(
    config: pytest.Config,
    settings: Settings,
    shares: list[list[str]],
    by_id: dict[str, pytest.Item],
    run_share: Any,
) -> Results:
    from pytest_opsladder.drift import worker_fork
    from pytest_opsladder.drift.worker_pool import run_share as run_quietly

    worker_fork.warm_up()
    with tempfile.TemporaryDirectory(prefix="opsladder-shadow-workers-") as tmp:
        children = worker_fork.fork_children(
            Path(tmp), shares, lambda share: run_quietly(settings, [by_id[n] for n in share])
        )
        try:
            started = time.monotonic()
            run_share([by_id[n] for n in shares[0]])
            timeout = workers_timeout(config, time.monotonic() - started)
            worker_fork.wait_children(children, timeout)
        except BaseException:
            worker_fork.end_children(children)
            raise
        results = [(c.k, read_runs(c.out, c.log, c.share, c.failure())) for c in children]
    config.stash[EXITING_KEY] = children  # reaped at unconfigure, long after they ended
    return results


def _run_spawned(
    config: pytest.Config, shares: list[list[str]], by_id: dict[str, pytest.Item], run_share: Any
) -> Results:
    """The workers started early (they wait for their plans), or ones started now."""
    tmp, pool = config.stash.get(POOL_KEY, (None, []))
    if tmp is None:
        tmp = tempfile.TemporaryDirectory(prefix="opsladder-shadow-workers-")
        config.stash[POOL_KEY] = (tmp, [])
    where = Path(tmp.name)
    if not pool:  # started late: each needs its plan file before it starts
        for k in range(1, len(shares)):
            Worker(None, where, k, None).send(shares[k])  # type: ignore[arg-type]
        pool = [spawn(config, where, k, early=False) for k in range(1, len(shares))]
        config.stash[POOL_KEY] = (tmp, pool)
    idle = [worker for worker in pool if worker.k >= len(shares)]  # started early, not needed
    pool = [worker for worker in pool if worker.k < len(shares)]
    for worker in idle:
        worker.send([])  # an empty plan ends it; unconfigure reaps it
    for worker in pool:
        worker.send(shares[worker.k])
    started = time.monotonic()
    try:
        run_share([by_id[n] for n in shares[0]])
    except BaseException:  # Ctrl-C, an error here: the workers' runs are not wanted any more
        for worker in pool:
            worker.proc.kill()
            worker.proc.wait()
        raise
    timeout = workers_timeout(config, time.monotonic() - started)
    return [(worker.k, collect(worker, timeout)) for worker in pool]
