"""The production run store: date partitions, redaction, the locked JSONL index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_opsladder.capture.production import capture
from pytest_opsladder.cli import main
from pytest_opsladder.store.index import IndexReadStats, entry_path, iter_index
from pytest_opsladder.store.layout import ENV_STORE, resolve_store
from pytest_opsladder.store.runs import load_run, reindex


def _capture(store: Path | None, case_id: str, fail: bool = False) -> str:
    try:
        with capture(case_id, "prod", store, input={"q": case_id, "api_key": "sk-live-123"}) as run:
            run.output = {"answer": "ok", "authorization": "Bearer abc"}
            if fail:
                raise TimeoutError("model took too long")
    except TimeoutError:
        pass
    return run.run_id


def test_runs_are_partitioned_by_date_indexed_and_redacted(tmp_path: Path) -> None:
    ok, bad = _capture(tmp_path, "a"), _capture(tmp_path, "b", fail=True)
    entries = {e["run_id"]: e for e in iter_index(tmp_path / "index.jsonl")}
    assert set(entries) == {ok, bad}
    assert entries[bad]["status"] == "error"
    assert entries[bad]["error_code"] == "TimeoutError"
    path = tmp_path / entry_path(entries[ok])
    assert path.parent.name == entries[ok]["started_at"][:10]
    assert path.name == f"{ok}.json"
    text = "".join(p.read_text() for p in tmp_path.glob("*/*.json"))
    assert "sk-live-123" not in text
    assert "Bearer abc" not in text
    assert load_run(tmp_path, entry_path(entries[ok]))["case"]["input"]["q"] == "a"


def test_store_directory_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_STORE, str(tmp_path / "envstore"))
    assert resolve_store(None) == tmp_path / "envstore"
    _capture(None, "env")
    assert len(list(iter_index(tmp_path / "envstore/index.jsonl"))) == 1


def test_an_interrupted_run_is_written_incomplete_and_not_indexed(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), capture("c", "prod", tmp_path) as run:
        raise KeyboardInterrupt
    record = json.loads(next(tmp_path.glob("*/*.json")).read_text())
    assert record["run"]["status"] == "incomplete"
    assert run.run_id in record["run"]["manifest"]["run_id"]
    assert not list(iter_index(tmp_path / "index.jsonl"))
    assert reindex(tmp_path).indexed == 1
    assert [e["status"] for e in iter_index(tmp_path / "index.jsonl")] == ["incomplete"]


def test_a_truncated_index_line_is_skipped_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [_capture(tmp_path, f"c{i}") for i in range(3)]
    index = tmp_path / "index.jsonl"
    with index.open("a") as handle:
        handle.write('{"run_id": "half-writ')  # a writer killed mid-line
    stats = IndexReadStats()
    assert [e["run_id"] for e in iter_index(index, stats)] == ids
    assert stats.skipped == [4]
    assert main(["sample", "--store", str(tmp_path), "-n", "10"]) == 0
    out, err = capsys.readouterr()
    assert sorted(json.loads(line)["run_id"] for line in out.splitlines()) == sorted(ids)
    assert f"skipped 1 unreadable line(s) of {index} (line 4)" in err
    later = _capture(tmp_path, "after")
    assert [e["run_id"] for e in iter_index(index)] == [*ids, later]


def test_reindex_repairs_the_index(tmp_path: Path) -> None:
    ids = {_capture(tmp_path, f"c{i}") for i in range(3)}
    (tmp_path / "index.jsonl").write_text('{"trunc')
    assert main(["sample", "--store", str(tmp_path), "--reindex", "-n", "1"]) == 0
    assert {e["run_id"] for e in iter_index(tmp_path / "index.jsonl")} == ids


WRITER = """
import sys
from pathlib import Path
from pytest_opsladder.store.index import append_entries
store, tag, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(n):
    append_entries(store, [{"run_id": f"{tag}-{i}", "pad": "x" * 5000}])
"""


def test_concurrent_appends_from_processes_lose_nothing(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), f"w{w}", "200"])
        for w in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    stats = IndexReadStats()
    ids = [e["run_id"] for e in iter_index(tmp_path / "index.jsonl", stats)]
    assert stats.skipped == []
    assert len(ids) == 800
    assert len(set(ids)) == 800
