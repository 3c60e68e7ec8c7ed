"""Benchmark: emitting a structured event into the Run (ladder level 3).

Target: at most 10 µs median per event. Measured next to what a user would otherwise write:
the standard ``logging`` module with a JSON formatter writing to an in-memory stream, in the
same run. Per-call time is the median over batches of 100 calls, so timer overhead is
amortised. Run: ``python benchmarks/bench_observability.py``.
"""

from __future__ import annotations

import io
import json
import logging
import statistics
import time
from collections.abc import Callable

BATCH = 100
BATCHES = 1000
TARGET_US = 10.0


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {"ts": record.created, "level": record.levelname, "msg": record.msg}
        fields["kind"] = getattr(record, "kind", None)
        fields["data"] = getattr(record, "data", None)
        return json.dumps(fields)


def median_us(call: Callable[[], object]) -> float:
    per_call = []
    for _ in range(BATCHES):
        t0 = time.perf_counter_ns()
        for _ in range(BATCH):
            call()
        per_call.append((time.perf_counter_ns() - t0) / BATCH / 1000)
    return statistics.median(per_call)


def main() -> int:
    from pytest_opsladder import Case, Run, Variant, emit
    from pytest_opsladder.capture.run import activate

    data = {"tool": "search_orders", "attempt": 1, "reason": "timeout"}
    run = Run(Case("bench"), Variant("bench"))
    with activate(run):
        ours = median_us(lambda: emit("retry", "search_orders", data))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bench")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    theirs = median_us(lambda: logger.info("retry", extra={"kind": "retry", "data": data}))
    verdict = "PASS" if ours <= TARGET_US else "MISS"
    print(f"emit one structured event ({BATCHES} batches of {BATCH}; median per event)")
    print(f"  opsladder emit() into the current Run: {ours:7.2f} µs")
    print(f"  logging + JSON formatter (StringIO):   {theirs:7.2f} µs")
    print(f"  target <= {TARGET_US:.0f} µs: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
