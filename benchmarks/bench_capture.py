"""Benchmark of ladder level 0 (run capture), next to vcrpy-style YAML recording of the same calls.

    python benchmarks/bench_capture.py

Targets (issue 2): recording a wrapped tool call costs <= 20 us median over the bare function;
writing a 1,000-event run and loading-and-replaying it each take <= 50 ms. The alternative a
user would otherwise pick is vcrpy: the same calls go through vcrpy's own Cassette (append,
save through its FilesystemPersister with `vcr.serializers.yamlserializer`, load, play_response),
measured in the same process. Exit code 1 if a target is missed.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_opsladder import Case, Mode, Run, RunRecorder, Variant, tool
from pytest_opsladder.capture.boundary import ToolBoundary
from pytest_opsladder.capture.run import activate
from pytest_opsladder.cassette import files

OVERHEAD_TARGET_US = 20.0
IO_TARGET_MS = 50.0
EVENTS = 1000


def search_orders(customer_id: str, status: str = "open", limit: int = 10) -> dict[str, Any]:
    """A typical small tool: a few arguments in, a small document out."""
    return {"customer_id": customer_id, "status": status, "orders": [{"id": 1142, "total": 19.5}]}


wrapped = tool(name="bench_search_orders")(search_orders)


def _args(i: int) -> tuple[str, str]:
    return f"cus_{i % 97}", "open" if i % 3 else "closed"


# -- per-call overhead ---------------------------------------------------------------------------
def _timed_calls(fn: Callable[..., Any], n: int) -> list[int]:
    """Each call timed on its own (ns): the median ignores the rare call that pays for a GC pass,
    the mean (printed too) does not."""
    clock = time.perf_counter_ns
    out = []
    for i in range(n):
        customer = f"cus_{i % 97}"
        start = clock()
        fn(customer, "open")
        out.append(clock() - start)
    return out


def _in_run(fn: Callable[[], list[int]]) -> list[int]:
    run = Run(Case("bench"), Variant("v"))
    run.boundary = ToolBoundary()
    with activate(run):
        return fn()


def _vcr_cassette(path: Path | None = None) -> Any:
    from vcr.cassette import Cassette
    from vcr.persisters.filesystem import FilesystemPersister
    from vcr.serializers import yamlserializer

    return Cassette(
        path or Path("unused.yaml"), serializer=yamlserializer, persister=FilesystemPersister
    )


def _vcr_record(cassette: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A tool wrapper that records each call as vcrpy records an HTTP interaction."""
    from vcr.request import Request

    def call(customer_id: str, status: str = "open", limit: int = 10) -> Any:
        body = json.dumps({"customer_id": customer_id, "status": status, "limit": limit})
        result = fn(customer_id, status, limit)
        response = {
            "status": {"code": 200, "message": "OK"},
            "headers": {"content-type": ["application/json"]},
            "body": {"string": json.dumps(result)},
        }
        cassette.append(Request("POST", "tool://search_orders", body, {}), response)
        return result

    return call


def _skip(*args: Any, **kwargs: Any) -> None:
    return None


def per_call(batches: int = 60, n: int = 1000) -> dict[str, dict[str, float]]:
    """Median and mean cost of one call (us): bare, recorded by opsladder, recorded by vcrpy."""
    from unittest import mock

    samples: dict[str, list[int]] = {"bare": [], "ours": [], "vcr": [], "unscanned": []}
    for _ in range(batches):  # interleaved, so drift of the machine hits all three alike
        samples["bare"] += _timed_calls(search_orders, n)
        samples["ours"] += _in_run(lambda: _timed_calls(wrapped, n))
        samples["vcr"] += _timed_calls(_vcr_record(_vcr_cassette(), search_orders), n)
        with mock.patch("pytest_opsladder.capture.boundary.remember", new=_skip):
            samples["unscanned"] += _in_run(lambda: _timed_calls(wrapped, n))
    return {
        k: {"median": statistics.median(v) / 1000, "mean": statistics.fmean(v) / 1000}
        for k, v in samples.items()
    }


# -- writing, loading and replaying a 1,000-event run --------------------------------------------
def recorded_run() -> Run:
    rec = RunRecorder(Case("bench", {"q": 1}), Variant("v"), None, mode=Mode.RECORD)
    with rec as run:
        for i in range(EVENTS):
            wrapped(*_args(i))
    return run


def _median_ms(fn: Callable[[], Any], repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _paired_cpu_ms(
    a: Callable[[], Any], b: Callable[[], Any], repeat: int = 21
) -> tuple[float, float]:
    """Median CPU milliseconds of ``a`` and of ``b``, run alternately: on a shared machine a
    wall-clock comparison of two runs measured a minute apart measures the neighbours."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((a, times[0]), (b, times[1])):
            gc.collect()
            start = time.process_time()
            fn()
            out.append((time.process_time() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def replay_once(path: Path) -> None:
    with RunRecorder(Case("bench", {"q": 1}), Variant("v"), path, mode=Mode.REPLAY):
        for i in range(EVENTS):
            wrapped(*_args(i))


def vcr_files(tmp: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    from vcr import matchers
    from vcr.cassette import Cassette
    from vcr.persisters.filesystem import FilesystemPersister
    from vcr.request import Request
    from vcr.serializers import yamlserializer

    path = tmp / "vcr.yaml"
    cassette = _vcr_cassette(path)
    record = _vcr_record(cassette, search_orders)
    for i in range(EVENTS):
        record(*_args(i))
    requests = [
        Request(
            "POST",
            "tool://search_orders",
            json.dumps({"customer_id": c, "status": s, "limit": 10}),
            {},
        )
        for c, s in map(_args, range(EVENTS))
    ]

    def write() -> None:
        cassette._save(force=True)

    def load_and_replay() -> None:
        loaded = Cassette.load(
            path=path,
            serializer=yamlserializer,
            persister=FilesystemPersister,
            record_mode="none",
            match_on=(matchers.method, matchers.uri, matchers.body),
            allow_playback_repeats=False,
        )
        for request in requests:
            json.loads(loaded.play_response(request)["body"]["string"])

    return write, load_and_replay


def legacy_json(value: Any, layers: int, indent: str = "") -> str:
    """The pre-issue-16 cassette layout, one line per event (to measure loading against it)."""
    flat = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
    if layers == 0 or not isinstance(value, dict | list) or not value:
        return flat.encode(value)
    inner = indent + " "
    if isinstance(value, dict):
        items = [
            f"{inner}{flat.encode(str(k))}: {legacy_json(value[k], layers - 1, inner)}"
            for k in sorted(value)
        ]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    lines = [inner + legacy_json(item, layers - 1, inner) for item in value]
    return "[\n" + ",\n".join(lines) + "\n" + indent + "]"


def file_figures() -> dict[str, float]:
    run = recorded_run()
    assert len(run.events) == EVENTS
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "bench" / "v.json"
        figures = {"write_ours": _median_ms(lambda: files.save(run, path))}
        unscanned = lambda: files.atomic_write_text(path, files.dumps(run))  # noqa: E731
        figures["write_unscanned"] = _median_ms(unscanned)
        figures["write_cold"] = _cold_write_ms(path)
        figures["replay_ours"] = _median_ms(lambda: replay_once(path))
        old = tmp / "bench" / "legacy.json"
        files.atomic_write_text(old, legacy_json(json.loads(files.dumps(run)), 3) + "\n")
        layouts = _paired_cpu_ms(lambda: replay_once(path), lambda: replay_once(old))
        figures["replay_layout"], figures["replay_legacy"] = layouts
        figures["size_ours"] = path.stat().st_size / 1024
        vcr_write, vcr_replay = vcr_files(tmp)
        figures["write_vcr"] = _median_ms(vcr_write, repeat=5)
        figures["replay_vcr"] = _median_ms(vcr_replay, repeat=1)  # O(n^2): ~20 s
        figures["size_vcr"] = (tmp / "vcr.yaml").stat().st_size / 1024
    return figures


def _cold_write_ms(path: Path) -> float:
    """The first write of a freshly recorded run, no string yet known clean to the scanner
    (what one test pays: its run is written once)."""
    from pytest_opsladder import secrets

    times = []
    for _ in range(5):
        run = recorded_run()
        secrets._CLEAN.clear()
        gc.collect()
        start = time.perf_counter()
        files.save(run, path)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def main() -> int:
    calls = per_call()
    bare, ours, vcr = calls["bare"], calls["ours"], calls["vcr"]
    io = file_figures()
    rows = [
        ("bare function call (us, median)", bare["median"], bare["median"], None),
        (
            "recording overhead/call (us, median)",
            ours["median"] - bare["median"],
            vcr["median"] - bare["median"],
            OVERHEAD_TARGET_US,
        ),
        (
            "recording overhead/call (us, mean)",
            ours["mean"] - bare["mean"],
            vcr["mean"] - bare["mean"],
            None,
        ),
        (f"write a {EVENTS}-event run (ms)", io["write_ours"], io["write_vcr"], IO_TARGET_MS),
        (f"load + replay {EVENTS} calls (ms)", io["replay_ours"], io["replay_vcr"], IO_TARGET_MS),
        ("cassette size (KiB)", io["size_ours"], io["size_vcr"], None),
    ]
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} (figures scale with it)")
    print(f"{'figure':<38}{'opsladder':>11}{'vcrpy YAML':>12}{'ratio':>8}   target")
    missed = False
    for label, mine, theirs, target in rows:
        ratio = f"{theirs / mine:.1f}x" if mine > 0 else "-"
        goal = f"<= {target:g}  {verdict(mine, target)}" if target is not None else ""
        missed |= target is not None and mine > target
        print(f"{label:<38}{mine:>11.2f}{theirs:>12.2f}{ratio:>8}   {goal}")
    slower = io["replay_layout"] / io["replay_legacy"]
    print(
        f"cassette layout, load + replay (CPU ms, alternating): {io['replay_layout']:.2f} "
        f"git-friendly vs {io['replay_legacy']:.2f} old one-line-per-event: x{slower:.2f}, "
        f"target <= 1.3  {verdict(slower, 1.3)}"
    )
    missed |= slower > 1.3
    unscanned = calls["unscanned"]["median"] - bare["median"]
    print(
        f"secret scanning (issue 14), recording overhead/call: before (no scan) "
        f"{unscanned:.2f} us, after {ours['median'] - bare['median']:.2f} us (median)"
    )
    scan_cost = io["write_ours"] / io["write_unscanned"] - 1
    print(
        f"secret scanning (issue 14), write of {EVENTS} events: before (no scan) "
        f"{io['write_unscanned']:.2f} ms, after {io['write_ours']:.2f} ms: {scan_cost:+.1%} "
        f"(target <= +10%: {verdict(scan_cost, 0.10)}); first write of a fresh run "
        f"{io['write_cold']:.2f} ms (tool calls are scanned as they are recorded)"
    )
    missed |= scan_cost > 0.10
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
