"""Shadow workers by ``os.fork()`` (POSIX): no interpreter to start, nothing to collect twice.

After collection, when the shadow prefetch starts and before any candidate job or agent is
built in the controller, the controller forks N-1 children. Each child already holds the
session (its items, the conftest, the plugins), takes its round-robin share of the cases (the
same :func:`.worker_pool.split` as the spawn path), builds and runs its jobs at the configured
concurrency, writes its candidate runs to a results file (a temporary file renamed over it:
the controller reads all of it or nothing) and leaves with ``os._exit``: no test item, no
report, no atexit handler, no finaliser, no cache write. Its stdout and stderr (fds 1 and 2)
go to a log file, so it never writes to the terminal; its runs are counted by the controller's
progress when they are adopted.

When fork is used (:func:`fork_unsafe_reason` returns None):

- only on a POSIX system that has ``os.fork``, and not on macOS, whose system frameworks (the
  proxy lookup an HTTP client does, for one) may crash a forked child;
- only while the controller runs **one thread**. A child gets a copy of every lock but only
  the forking thread: a lock another thread held at fork time (a logger's, an SDK's connection
  pool's, a server's) stays held forever in the child. A thread parked in ``accept`` or
  ``select`` holds no Python lock, but which locks a thread holds cannot be seen from outside,
  so any other live Python thread (a model server a conftest started, a metrics exporter, a
  timer) means spawn. Native thread pools that register their own fork handlers (OpenBLAS
  under numpy) are not Python threads and do not count. A normal session has one thread at this
  point (pytest, pytest-xdist's workers, pytest-timeout's signal method and pytest-cov start
  none); the shipped demo's loopback model starts with the first agent built, after the fork;
- nothing else opened in the controller is used by a child: agents, their clients and
  connection pools are built in the child (by the same ``pytest_opsladder_build_agent`` hook);
  a candidate run writes no store (a cassette only with an explicit record mode, as in the spawn
  path); the package's SQLite stores open one connection per process and thread. A client a
  conftest built *and used* before the fork shares its open sockets with the children: build
  clients in the hook, or lazily.

A child that crashes, is killed, or writes nothing, and one still running ``timeout`` seconds
after the controller finished its own share (it is then killed), leaves its cases to the
controller, which runs them in their items, one at a time: a case is never lost.
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

POLL_S = 0.002  # how often the controller looks whether a child has ended
MACOS_UNSAFE = "macOS system frameworks are not fork-safe"


def fork_unsafe_reason() -> str | None:
    """Why the workers cannot be forked here and now (they are spawned), or None."""
    if not fork_platform():
        return MACOS_UNSAFE if sys.platform == "darwin" else "no os.fork on this platform"
    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        return f"{len(others)} other thread(s) alive in this process ({shown})"
    return None


def fork_platform() -> bool:
    """Whether this platform forks workers at all (threads decide, at the prefetch)."""
    return os.name == "posix" and hasattr(os, "fork") and sys.platform != "darwin"


@dataclass
class Child:
    """One forked worker: its share of node ids, where its runs and its output go."""

    pid: int
    k: int
    share: list[str]
    out: Path
    log: Path
    status: int | None = None  # os.waitpid's status once it has ended
    killed_after: float | None = None  # seconds waited before it was killed

    def failure(self) -> str:
        """How it ended, for the notice (the results file decides whether it failed)."""
        if self.killed_after is not None:
            return f"still running {self.killed_after:.0f} s after this share ended; killed"
        if self.status is None:
            return "still exiting"
        return describe_exit(os.waitstatus_to_exitcode(self.status))


def describe_exit(code: int) -> str:
    """An exit code as the notice says it (a negative one is the signal that killed it)."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by signal {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def warm_up() -> None:
    """Import what every candidate run needs before forking (0.1 to 0.5 s): the run scopes'
    modules and the HTTP patches' (vcrpy, its patchers built): once here instead of once in
    each process."""
    from pytest_opsladder._modules import module_available
    from pytest_opsladder.capture.scopes import run_scopes

    run_scopes()
    if module_available("vcr"):
        from pytest_opsladder.http.dispatch import preload

        preload()


def fork_children(
    tmp: Path, shares: list[list[str]], run_share: Callable[[list[str]], dict[str, Any]]
) -> list[Child]:
    """Fork one child per share after the first (none for an empty share); each runs
    ``run_share(its node ids)`` and writes the document it returns. Returns in the parent."""
    _flush_stdio()
    children: list[Child] = []
    gc.freeze()  # the children's collections then leave the inherited objects (and pages) alone
    try:
        for k, share in enumerate(shares[1:], start=1):
            if not share:
                continue
            out, log = tmp / f"runs-{k}.json", tmp / f"worker-{k}.log"
            pid = os.fork()
            if pid == 0:
                _child_main(share, out, log, run_share)
            children.append(Child(pid, k, share, out, log))
    except BaseException:
        end_children(children)
        raise
    finally:
        gc.unfreeze()
    return children


def _child_main(
    share: list[str], out: Path, log: Path, run_share: Callable[[list[str]], dict[str, Any]]
) -> NoReturn:
    """The child's whole life: never returns into pytest, whatever happens."""
    code = 70
    try:
        _output_to(log)
        doc = run_share(share)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, default=str), encoding="utf-8")
        os.replace(tmp, out)
        code = 0
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        try:
            _flush_stdio()
        finally:
            os._exit(code)


def _output_to(log: Path) -> None:
    """Fds 1 and 2 (and sys.stdout/err, and faulthandler) to the log: the terminal, and any
    capture file of the controller's, are the controller's alone."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
    if faulthandler.is_enabled():
        faulthandler.enable(file=sys.stderr)
    faulthandler.cancel_dump_traceback_later()


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def wait_children(children: list[Child], timeout: float) -> None:
    """Wait until every child has written its results or ended; one doing neither within
    ``timeout`` seconds from now is killed. A child that has written its results is not
    waited for any further: its exit (the kernel freeing its memory and deleting its
    workdirs' files) goes on while the controller adopts its runs; :func:`reap` ends it."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    for child in children:
        while child.status is None and not child.out.exists():
            pid, status = os.waitpid(child.pid, os.WNOHANG)
            if pid:
                child.status = status
            elif time.monotonic() >= deadline:
                _kill(child)
                child.killed_after = time.monotonic() - started
            else:
                time.sleep(POLL_S)


def reap(children: list[Child], timeout: float = 10.0) -> None:
    """Collect every child's exit status (no zombie is left): those still exiting get
    ``timeout`` seconds, then are killed."""
    deadline = time.monotonic() + timeout
    for child in children:
        while child.status is None:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
            if pid:
                child.status = status
            elif time.monotonic() >= deadline:
                _kill(child)
            else:
                time.sleep(POLL_S * 5)


def end_children(children: list[Child]) -> None:
    """Kill and reap every child still running (the controller is stopping: Ctrl-C, error)."""
    for child in children:
        if child.status is None:
            _kill(child)


def _kill(child: Child) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, signal.SIGKILL)
    _, child.status = os.waitpid(child.pid, 0)
