"""Benchmark: idempotency check-and-record on SQLite, 4 processes sharing one file (level 2).

Target: at least 2,000 operations/s. One operation = claim a new key (check + in-progress
record, one atomic transaction) then record its result (a second write). Measured next to what
a user would write by hand: a plain SQLite table in the default journal mode, SELECT then
INSERT, in the same run on the same machine. Run: ``python benchmarks/bench_idempotency.py``.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.synchronize
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROCESSES = 4
OPS_PER_PROCESS = 1500
NAIVE_OPS_PER_PROCESS = 100  # it fsyncs a rollback journal per commit: keep the run short
TARGET_OPS_S = 2000.0


def opsladder_worker(
    path: str, worker: int, start: multiprocessing.synchronize.Event, out: Any
) -> None:
    from pytest_opsladder.idempotency import IdempotencyStore, execute

    store = IdempotencyStore.open(path)
    start.wait()
    for i in range(OPS_PER_PROCESS):
        key = f"w{worker}-op{i}"
        execute(store, key, {"i": i}, lambda: {"ok": True})
    out.put((OPS_PER_PROCESS, 0))


def naive_worker(
    path: str, worker: int, start: multiprocessing.synchronize.Event, out: Any
) -> None:
    conn = sqlite3.connect(path, timeout=30)  # default journal mode (DELETE), default isolation
    start.wait()
    locked = 0
    for i in range(NAIVE_OPS_PER_PROCESS):
        key = f"w{worker}-op{i}"
        while True:
            try:
                row = conn.execute("SELECT result FROM done WHERE key = ?", (key,)).fetchone()
                if row is None:
                    conn.execute("INSERT INTO done (key, result) VALUES (?, ?)", (key, "{}"))
                    conn.commit()
                break
            except sqlite3.OperationalError:  # "database is locked": a hand-written retry
                conn.rollback()
                locked += 1
    out.put((NAIVE_OPS_PER_PROCESS, locked))


def measure(target: Callable[..., None], path: str) -> tuple[float, int]:
    ctx = mp.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(path, w, start, out)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    time.sleep(0.5)  # let every worker open its connection before the clock starts
    t0 = time.perf_counter()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        ours_path = str(Path(tmp) / "idem.sqlite")
        naive_path = str(Path(tmp) / "naive.sqlite")
        with sqlite3.connect(naive_path) as conn:
            conn.execute("CREATE TABLE done (key TEXT PRIMARY KEY, result TEXT)")
        from pytest_opsladder.idempotency import IdempotencyStore

        IdempotencyStore.open(ours_path).close()  # create the schema before the race
        ours, _ = measure(opsladder_worker, ours_path)
        naive, locked = measure(naive_worker, naive_path)
    verdict = "PASS" if ours >= TARGET_OPS_S else "MISS"
    print(f"idempotency check-and-record, SQLite, {PROCESSES} processes, one file")
    print(f"  opsladder (WAL, BEGIN IMMEDIATE, claim+record): {ours:10,.0f} ops/s")
    print(
        f"  naive (default journal, SELECT then INSERT):    {naive:10,.0f} ops/s "
        f"({locked} 'database is locked' errors retried by hand)"
    )
    print(f"  target >= {TARGET_OPS_S:,.0f} ops/s: {verdict}")
    print("  (the naive version is not even correct: two processes can both SELECT nothing)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
