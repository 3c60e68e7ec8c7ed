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

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_opsladder.drift.shadow import ShadowRecorder
from pytest_opsladder.exceptions import ConfigError

if TYPE_CHECKING:
    from pytest_opsladder.drift.concurrent import ShadowJob
    from pytest_opsladder.settings import Settings

OPT_WORKERS = "--opsladder-workers"
INI_WORKERS = "opsladder_workers"
OPT_PLAN = "--opsladder-worker-plan"  # internal: set by the controller on its workers
PLAN_FORMAT = "pytest-opsladder/shadow-worker-plan"
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


# -- the controller ----------------------------------------------------------------------------
def split(nodeids: list[str], workers: int) -> list[list[str]]:
    """Round-robin shares: share 0 is the controller's, the others one per worker process."""
    return [nodeids[k::workers] for k in range(workers)]


@dataclass
class Worker:
    """One worker process: where its plan, results and log go, and its share once known."""

    proc: subprocess.Popen[bytes]
    tmp: Path
    k: int
    plan_fd: int | None  # write end of the pipe its plan path goes through (None: a file)
    share: list[str] = field(default_factory=list)

    @property
    def out(self) -> Path:
        return self.tmp / f"runs-{self.k}.json"

    @property
    def log(self) -> Path:
        return self.tmp / f"worker-{self.k}.log"

    def send(self, share: list[str]) -> None:
        """Hand the worker its share (an empty one ends it); the plan goes in a file and only
        its path through the pipe, which never fills up and blocks the controller."""
        self.share = share
        plan = self.tmp / f"plan-{self.k}.json"
        doc = {"format": PLAN_FORMAT, "nodeids": share, "out": str(self.out)}
        plan.write_text(json.dumps(doc), encoding="utf-8")
        if self.plan_fd is None:
            return
        fd, self.plan_fd = self.plan_fd, None
        try:
            os.write(fd, (str(plan) + "\n").encode() if share else b"")
        except OSError:
            pass  # the worker is gone: collect() reports it and the items run its cases
        finally:
            os.close(fd)


def spawn(config: pytest.Config, tmp: Path, k: int, *, early: bool) -> Worker:
    """Start worker ``k``: ``python -m pytest`` with the session's own arguments. Started
    early (POSIX), it collects while the controller does and then waits for its plan on a
    pipe; otherwise its plan file must already exist."""
    read_fd, write_fd = os.pipe() if early else (-1, None)
    plan = f"fd:{read_fd}" if early else str(tmp / f"plan-{k}.json")
    args = [*config.invocation_params.args, f"{OPT_PLAN}={plan}", "-p", "no:cacheprovider"]
    with (tmp / f"worker-{k}.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", *args],
            cwd=config.invocation_params.dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            pass_fds=(read_fd,) if early else (),
        )
    if early:
        os.close(read_fd)
    return Worker(proc, tmp, k, write_fd)


def collect(worker: Worker) -> tuple[dict[str, Any], str | None]:
    """Wait for a worker; its runs by node id, and why it failed (None when it did not)."""
    code = worker.proc.wait()
    try:
        data = json.loads(worker.out.read_text(encoding="utf-8"))
        runs: dict[str, Any] = dict(data["runs"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log = worker.log
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
        return {}, f"exit code {code}, no results ({type(exc).__name__}: {exc}):\n{tail}"
    unrun = set(data.get("unrun") or [])  # no baseline, or no agent: the item reports it
    missing = len([n for n in worker.share if n not in runs and n not in unrun])
    return runs, (f"{missing} of its {len(worker.share)} case(s) not run" if missing else None)


def adopt(item: pytest.Item, settings: Settings, raw: dict[str, Any]) -> ShadowRecorder | None:
    """A recorder holding the run a worker made for ``item``'s case (its baseline loaded
    here, as the items pair it); None when the baseline is gone (the item reports that)."""
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.cassette import files
    from pytest_opsladder.exceptions import CassetteError
    from pytest_opsladder.fixtures import CASE_KEY, cassette_for

    case = item.stash[CASE_KEY]
    cand_path = cassette_for(item, case, settings.candidate, settings, {})
    try:
        base_path = cassette_for(item, case, settings.variant(settings.baseline), settings, {})
        baseline = files.load(base_path)
    except CassetteError:
        return None
    recorder = ShadowRecorder(case, settings.candidate, baseline, cand_path)
    recorder.run = Run.from_dict(raw["run"])
    if raw.get("replayed_candidate") and cand_path.exists():
        recorder.recorded = files.load(cand_path)
    return recorder


# -- a worker ----------------------------------------------------------------------------------
def read_plan(config: pytest.Config) -> tuple[list[str], Path] | None:
    """This worker's share and where its runs go; None when the controller has none for it
    (it ran no shadow prefetch: a collection error, ``-x``, no cases)."""
    where = str(config.getoption("opsladder_worker_plan"))
    if where.startswith("fd:"):
        with os.fdopen(int(where[3:]), "r", encoding="utf-8") as pipe:
            where = pipe.read().strip()  # waits for the controller's own collection
        if not where:
            return None
    plan = json.loads(Path(where).read_text(encoding="utf-8"))
    return list(plan["nodeids"]), Path(plan["out"])


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """A worker reaching the test loop had no shadow prefetch to run (drift.plugin's wrapper
    ends the process when it has): it ends here, quietly, running no test item."""
    if is_worker(session.config):
        _end_worker(None)


def _end_worker(out: Path | None, doc: dict[str, Any] | None = None) -> None:
    if out is not None:
        out.write_text(json.dumps(doc, default=str), encoding="utf-8")
    sys.stdout.flush()
    os._exit(0)  # no test item runs here, and no report is written: the controller does both


def run_as_worker(session: pytest.Session, settings: Settings) -> None:
    """Run this worker's share of candidate runs, write them, and end the process."""
    from pytest_opsladder.drift.concurrent import run_jobs
    from pytest_opsladder.drift.plugin import _evaluate_prefetched, _job_for

    plan = read_plan(session.config)
    if plan is None:
        _end_worker(None)
        return
    nodeids, out = plan
    wanted = set(nodeids)
    jobs: list[tuple[pytest.Item, ShadowJob]] = []
    with tempfile.TemporaryDirectory(prefix="opsladder-shadow-worker-") as tmp:
        for item in session.items:
            if item.nodeid not in wanted:
                continue
            job = _job_for(item, settings, Path(tmp) / str(len(jobs)))
            if job is not None:
                jobs.append((item, job))
        run_jobs([job for _, job in jobs], settings.concurrency)
    runs = {}
    unrun = sorted(wanted - {item.nodeid for item, _ in jobs})
    for item, job in jobs:
        _evaluate_prefetched(item, job.recorder)
        replayed = job.recorder.recorded is not None
        runs[item.nodeid] = {"run": job.recorder.run.to_dict(), "replayed_candidate": replayed}
    _end_worker(out, {"runs": runs, "unrun": unrun})


# -- the controller's side of prefetch ---------------------------------------------------------
def eligible(items: list[pytest.Item]) -> list[pytest.Item]:
    """The items a worker can run: nightmare cases (their agent comes from the hook)."""
    from pytest_opsladder.nightmare.plugin import NIGHTMARE_CASE

    return [item for item in items if NIGHTMARE_CASE in item.stash]


def notice(config: pytest.Config, message: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(message, yellow=True)


POOL_KEY = pytest.StashKey[tuple[Any, list[Worker]]]()


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the workers now, so their start-up and collection overlap the controller's."""
    config = session.config
    if workers_of(config) < 2 or os.name != "posix" or config.option.collectonly:
        return
    if not _shadowing(config) or not config.hook.pytest_opsladder_build_agent.get_hookimpls():
        return
    tmp = tempfile.TemporaryDirectory(prefix="opsladder-shadow-workers-")
    pool = [spawn(config, Path(tmp.name), k, early=True) for k in range(1, workers_of(config))]
    config.stash[POOL_KEY] = (tmp, pool)


def _shadowing(config: pytest.Config) -> bool:
    from pytest_opsladder.plugin import SETTINGS_KEY

    settings = config.stash.get(SETTINGS_KEY, None)
    return settings is not None and settings.mode.value == "shadow"


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
