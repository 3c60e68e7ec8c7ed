"""Structured events as JSON lines (ladder level 3), redacted before they leave the process.

One ``run`` record per run, then one record per event, each carrying the run id, case and
variant so that any log pipeline (or pandas ``read_json(lines=True)``) can group them. Runs come
from a live :class:`Run`, a cassette, or a production run store (a directory of run files).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.run import Run
from pytest_opsladder.observability.events import error_code
from pytest_opsladder.observability.redaction import redact


def run_record(run: Run) -> dict[str, Any]:
    record: dict[str, Any] = redact(
        {
            "type": "run",
            "run_id": run.run_id,
            "case_id": run.case.id,
            "variant": run.variant.name,
            "model": run.variant.model,
            "status": run.status.value,
            "started_at": run.manifest.get("started_at"),
            "duration_s": run.manifest.get("duration_s"),
            "error": run.error and {k: run.error.get(k) for k in ("type", "message")},
            "metrics": {k: v for k, v in run.metrics.items() if not isinstance(v, dict)},
        }
    )
    return record


def event_record(run: Run, event: ev.Event) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "event",
        "run_id": run.run_id,
        "case_id": run.case.id,
        "variant": run.variant.name,
        "seq": event.seq,
        "kind": event.kind,
        "name": event.name,
        "t_start": round(event.t_start, 6),
        "duration_s": round(event.duration, 6),
        "call_id": event.call_id,
        "data": event.data,
    }
    err = event.data.get("error") if event.kind == ev.TOOL_CALL else None
    if isinstance(err, dict):
        record["error_code"] = error_code(str(err.get("type", ""))).value
    elif event.kind == ev.ERROR:
        record["error_code"] = event.data.get("code") or error_code(event.name).value
    result: dict[str, Any] = redact(record)
    return result


def records(runs: Iterable[Run]) -> Iterator[dict[str, Any]]:
    for run in runs:
        yield run_record(run)
        for event in run.events:
            yield event_record(run, event)


def write_jsonl(runs: Iterable[Run], out: IO[str]) -> int:
    """Write every run's records as JSON lines; returns the number of lines."""
    count = 0
    for record in records(runs):
        out.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        count += 1
    return count


def load_runs(paths: Iterable[Path]) -> Iterator[Run]:
    """Runs from cassette files and directories of them (a run store), in path order."""
    from pytest_opsladder.cassette import files

    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".yaml", ".yml"))
            yield from (files.load(p) for p in found if not p.name.startswith("."))
        else:
            yield files.load(path)
