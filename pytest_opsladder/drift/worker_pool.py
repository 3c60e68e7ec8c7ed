"""The processes behind ``--opsladder-workers``: starting, planning, collecting (level 7).

The controller side (:class:`Worker`, :func:`spawn`, :func:`collect`, :func:`adopt`) and the
worker side (:func:`read_plan`, :func:`run_as_worker`); :mod:`.workers` holds the options and
the session hooks that use them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_opsladder import _json
from pytest_opsladder._gc import collection_paused
from pytest_opsladder.drift.errors import PYTEST_OUTCOMES, AgentBuildError, ShadowWorkerRunError
from pytest_opsladder.drift.shadow import ShadowRecorder
from pytest_opsladder.stash_keys import PREFETCH_ERROR_KEY

if TYPE_CHECKING:
    from pytest_opsladder.settings import Settings

OPT_PLAN = "--opsladder-worker-plan"  # internal: set by the controller on its workers
PLAN_FORMAT = "pytest-opsladder/shadow-worker-plan"


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
    args = [*config.invocation_params.args, f"{OPT_PLAN}={plan}"]  # exits before any cache write
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


def collect(worker: Worker, timeout: float) -> tuple[dict[str, Any], str | None]:
    """Wait for a worker (killed after ``timeout`` s); its runs by node id, and why it failed
    (None when it did not)."""
    from pytest_opsladder.drift.worker_fork import describe_exit

    try:
        ended = describe_exit(worker.proc.wait(timeout=timeout))
    except subprocess.TimeoutExpired:
        worker.proc.kill()
        worker.proc.wait()
        ended = f"still running {timeout:.0f} s after this share ended; killed"
    return read_runs(worker.out, worker.log, worker.share, ended)


def read_runs(
    out: Path, log: Path, share: list[str], ended: str
) -> tuple[dict[str, Any], str | None]:
    """A worker's results file: its runs by node id, and why it failed (None when it did
    not); ``ended`` says how the process ended, for the notice."""
    try:
        with collection_paused():
            data = _json.loads_exact(out.read_bytes())  # orjson unless an integer could round
        runs: dict[str, Any] = dict(data["runs"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
        return {}, f"{ended}, no results ({type(exc).__name__}: {exc}):\n{tail}"
    unrun = set(data.get("unrun") or [])  # no baseline, or no agent: the item reports it
    missing = len([n for n in share if n not in runs and n not in unrun])
    return runs, (f"{missing} of its {len(share)} case(s) not run" if missing else None)


def adopt(item: pytest.Item, settings: Settings, raw: dict[str, Any]) -> ShadowRecorder | None:
    """A recorder holding the run a worker made for ``item``'s case, and the baseline it was
    paired with there (read from its cassette here when the worker did not send it); None
    when the baseline is gone (the item reports that)."""
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.cassette import files
    from pytest_opsladder.exceptions import CassetteError
    from pytest_opsladder.fixtures import cassette_for
    from pytest_opsladder.stash_keys import CASE_KEY

    case = item.stash[CASE_KEY]
    cand_path = cassette_for(item, case, settings.candidate, settings, {})
    if raw.get("baseline") is not None:  # validated by the worker: no second schema check here
        baseline = Run.from_dict(raw["baseline"])
    else:
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


def end_worker(out: Path | None, doc: dict[str, Any] | None = None) -> None:
    if out is not None:
        out.write_text(json.dumps(doc, default=str), encoding="utf-8")
    sys.stdout.flush()
    os._exit(0)  # no test item runs here, and no report is written: the controller does both


def run_as_worker(session: pytest.Session, settings: Settings) -> None:
    """Run this worker's share of candidate runs, write them, and end the process."""
    plan = read_plan(session.config)
    if plan is None:
        end_worker(None)
        return
    nodeids, out = plan
    wanted = set(nodeids)
    end_worker(out, run_share(settings, [item for item in session.items if item.nodeid in wanted]))


def run_share(settings: Settings, items: list[pytest.Item]) -> dict[str, Any]:
    """A worker's share, run quietly (no progress lines): its candidate runs (checks
    evaluated) by node id, and the cases it could not run (no baseline, no agent: the item
    reports that), as the results document the controller reads."""
    from pytest_opsladder.drift.plugin import run_candidates

    done = run_candidates(items, settings)
    runs: dict[str, Any] = {}
    for item, job in done:
        runs[item.nodeid] = {
            "run": job.recorder.run.to_dict(),
            "baseline": job.recorder.baseline.to_dict(),
            "replayed_candidate": job.recorder.recorded is not None,
        }
        if job.error is not None:  # the controller's item raises it; the agent is not run twice
            runs[item.nodeid]["item_error"] = item_error(job.error)
    for item in items:  # the build hook raised (or skipped) for its case: the item says so
        error = item.stash.get(PREFETCH_ERROR_KEY, None)
        if error is not None and item.nodeid not in runs:
            runs[item.nodeid] = {"hook_error": hook_error(error)}
    unrun = sorted({item.nodeid for item in items} - set(runs))
    return {"runs": runs, "unrun": unrun}


def hook_error(error: BaseException) -> dict[str, str]:
    """What a worker tells the controller of an exception its build hook raised for a case."""
    kind = next((k for k, cls in PYTEST_OUTCOMES.items() if isinstance(error, cls)), "error")
    message = getattr(error, "msg", None) if kind != "error" else None
    return {"kind": kind, "type": type(error).__name__, "message": str(message or error)}


def item_error(error: BaseException) -> dict[str, str]:
    """What a worker tells the controller of the error a case's item raises after its run
    (an output a cassette cannot store, the agent's pytest.fail or sys.exit): the exception
    itself, pickled, when it pickles, and its kind, type and message in any case."""
    told = hook_error(error)
    with contextlib.suppress(Exception):  # a user's exception may hold anything: the text says it
        told["pickled"] = base64.b64encode(pickle.dumps(error)).decode("ascii")
    return told


def rebuilt_item_error(raw: dict[str, Any]) -> BaseException:
    """The exception the case's item raises for a worker's ``item_error``: the worker's own
    exception when it unpickles here (the same process image wrote it, in the controller's
    private temporary directory), else as :func:`_rebuilt` makes it."""
    pickled = raw.get("pickled")
    if isinstance(pickled, str):
        try:
            error = pickle.loads(base64.b64decode(pickled))  # our own worker's file
        except Exception:  # e.g. an __init__ that takes other arguments
            error = None
        if isinstance(error, BaseException):
            return error
    return _rebuilt(raw, ShadowWorkerRunError, "the candidate run raised", "")


def rebuilt_hook_error(raw: dict[str, Any]) -> BaseException:
    """The exception the case's item raises for a worker's ``hook_error`` (see :func:`_rebuilt`)."""
    return _rebuilt(raw, AgentBuildError, "pytest_opsladder_build_agent raised",
                    "fix the hook for this case, or ")  # fmt: skip


def _rebuilt(raw: dict[str, Any], named: type[Exception], what: str, fix: str) -> BaseException:
    """A worker's error told as text (:func:`hook_error`): the same pytest outcome (skip, fail,
    xfail) with its reason, else ``named`` saying what raised which type, and the fix."""
    message = str(raw.get("message", ""))
    outcome = PYTEST_OUTCOMES.get(str(raw.get("kind")))
    if outcome is not None:
        return outcome(message)
    return named(
        f"{what} {raw.get('type', 'an error')}: {message} (in a shadow worker process; "
        f"{fix}run with --opsladder-workers=1 to see its traceback)"
    )
