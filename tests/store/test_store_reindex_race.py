"""A reindex while production runs are being captured loses none of them and doubles none.

The reindex reads every run file and then replaces the index; a run that ended meanwhile
appended its line to the index being replaced. Before the fix those runs were missing from the
index (sampling and review never saw them) until the next reindex, and a run in flight during
the reindex was listed ``incomplete`` and then appended again ``complete``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from pytest_opsladder.capture.production import capture
from pytest_opsladder.store.index import iter_index
from pytest_opsladder.store.runs import iter_run_files, reindex

CAPTURER = """
import sys, time
from pathlib import Path
from pytest_opsladder.capture.production import capture
store, n = Path(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    with capture(f"live-{i}", "prod", store, input={"i": i}) as run:
        time.sleep(0.01)  # the agent at work: the run is in flight, its file incomplete
        run.output = {"answer": i}
"""


def _statuses_on_disk(store: Path) -> dict[str, str]:
    runs = (json.loads(p.read_text())["run"] for p in iter_run_files(store))
    return {r["manifest"]["run_id"]: r["status"] for r in runs}


def test_a_reindex_racing_captures_keeps_every_run_once(tmp_path: Path) -> None:
    for i in range(150):  # enough files that reading them all takes a while
        with capture(f"old-{i}", "prod", tmp_path, input={"i": i}) as run:
            run.output = {"answer": i}
    writer = subprocess.Popen([sys.executable, "-c", CAPTURER, str(tmp_path), "150"])
    reindexes = 0
    while writer.poll() is None and sum(1 for _ in iter_run_files(tmp_path)) < 240:
        reindex(tmp_path)  # each reindex would also heal the damage of the one before it:
        reindexes += 1  # the last one's is what stays, so the writer goes on after it
    assert writer.wait(timeout=300) == 0
    assert reindexes >= 3  # the reindexes did overlap the captures

    on_disk = _statuses_on_disk(tmp_path)
    entries = list(iter_index(tmp_path / "index.jsonl"))
    counts = Counter(e["run_id"] for e in entries)
    assert len(on_disk) == 300
    assert set(counts) == set(on_disk)  # no run left out of the index
    assert [rid for rid, n in counts.items() if n > 1] == []  # and none listed twice
    assert {e["run_id"]: e["status"] for e in entries} == on_disk  # each with its final status


def test_a_reindex_during_a_run_does_not_leave_it_incomplete_in_the_index(tmp_path: Path) -> None:
    with capture("c", "prod", tmp_path, input={"q": 1}) as run:
        assert reindex(tmp_path).indexed == 1  # the run, in flight, is listed as it stands
        assert [e["status"] for e in iter_index(tmp_path / "index.jsonl")] == ["incomplete"]
        run.output = {"answer": 1}
    assert [e["status"] for e in iter_index(tmp_path / "index.jsonl")] == ["complete"]
