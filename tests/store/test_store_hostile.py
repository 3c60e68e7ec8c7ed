"""The run store under hostile files: corrupt run files, and index lines of an unknown version.

`opsladder sample --reindex` stopped at the first run file it could not read and left the
index as it was; it now skips such files, lists them, rebuilds the index from every other run
and exits 1. An index line written in a format version this release does not know was sampled
as if it were the current one; it is now refused, naming the line and the fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_opsladder.capture.production import capture
from pytest_opsladder.cli import main
from pytest_opsladder.store.errors import IndexVersionError
from pytest_opsladder.store.index import IndexReadStats, iter_index, iter_index_lines
from pytest_opsladder.store.sampling import SampleSpec, Strategy, StratumField, sample_lines

HANG = 120  # seconds: under 10 s after the fix on a loaded box, forever before it
CLI = [sys.executable, "-m", "pytest_opsladder.cli"]


def _capture(store: Path, case_id: str) -> str:
    with capture(case_id, "prod", store, input={"q": case_id}) as run:
        run.output = {"answer": "ok"}
    return run.run_id


def _run_file(store: Path, run_id: str) -> Path:
    (found,) = store.glob(f"*/{run_id}.json")
    return found


def _store(tmp_path: Path, runs: int = 4) -> tuple[Path, list[str]]:
    store = tmp_path / "runs"
    return store, [_capture(store, f"c{i}") for i in range(runs)]


def _sampled(out: str) -> set[str]:
    return {json.loads(line)["run_id"] for line in out.splitlines()}


def test_reindex_skips_a_corrupt_run_file_and_rebuilds_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, ids = _store(tmp_path)
    corrupt = _run_file(store, ids[1])
    corrupt.write_text('{"format": "pytest-opsladder/cassette", "run": {"trunc')
    (store / "index.jsonl").write_text('{"trunc')
    assert main(["sample", "--store", str(store), "--reindex", "-n", "10"]) == 1
    out, err = capsys.readouterr()
    assert _sampled(out) == {ids[0], ids[2], ids[3]}  # stdout is the sample, nothing else
    assert f"reindexed 3 run(s) into {store / 'index.jsonl'}" in err
    assert "skipped 1 unreadable run file(s); they are not in the index" in err
    assert f"  {corrupt}:1:" in err  # the file, where, and why
    assert {e["run_id"] for e in iter_index(store / "index.jsonl")} == {ids[0], ids[2], ids[3]}


def test_reindex_of_readable_runs_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, ids = _store(tmp_path, runs=2)
    assert main(["sample", "--store", str(store), "--reindex", "-n", "10"]) == 0
    out, err = capsys.readouterr()
    assert _sampled(out) == set(ids)
    assert "skipped" not in err


def test_reindex_skips_fifos_and_broken_links_without_hanging(tmp_path: Path) -> None:
    store, ids = _store(tmp_path, runs=2)
    day = _run_file(store, ids[0]).parent
    os.mkfifo(day / "pipe.json")
    (day / "gone.json").symlink_to("elsewhere.json")
    (day / "loop.json").symlink_to("loop.json")
    done = subprocess.run(
        [*CLI, "sample", "--store", str(store), "--reindex", "-n", "10"],
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )
    assert done.returncode == 1
    assert _sampled(done.stdout) == set(ids)
    assert "skipped 3 unreadable run file(s)" in done.stderr
    assert f"{day / 'pipe.json'}: it is a FIFO (named pipe)" in done.stderr
    assert f"{day / 'gone.json'}: it is a symbolic link to 'elsewhere.json'" in done.stderr
    assert f"{day / 'loop.json'}: it is a symbolic link that loops" in done.stderr
    assert "Traceback" not in done.stderr


def test_reindex_of_a_store_that_is_not_there_is_named_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "runz"
    assert main(["sample", "--store", str(missing), "--reindex"]) == 2
    assert f"no run store at {missing}/ to reindex" in capsys.readouterr().err
    assert not missing.exists()


def _newer_line(run_id: str) -> str:
    return json.dumps({"v": 2, "run_id": run_id, "status": "complete", "shards": [1]}) + "\n"


def _with_newer_line(tmp_path: Path) -> tuple[Path, list[str]]:
    store, ids = _store(tmp_path, runs=3)
    index = store / "index.jsonl"
    lines = index.read_text().splitlines(keepends=True)
    lines.insert(2, _newer_line("from-the-future"))
    index.write_text("".join(lines))
    return store, ids


SPECS = [
    SampleSpec(Strategy.UNIFORM, 1),  # Algorithm L parses the kept lines only
    SampleSpec(Strategy.STRATIFIED, 5, by=(StratumField.STATUS, StratumField.TOOL)),
    SampleSpec(Strategy.INTERESTING, 5),
    SampleSpec(Strategy.RESERVOIR, 5),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.strategy.value)
def test_an_index_line_of_an_unknown_version_is_refused_by_every_strategy(
    tmp_path: Path, spec: SampleSpec
) -> None:
    store, _ = _with_newer_line(tmp_path)
    index = store / "index.jsonl"
    with pytest.raises(IndexVersionError) as info:
        sample_lines(iter_index_lines(index, IndexReadStats()), spec)
    assert (info.value.path, info.value.line, info.value.found) == (index, 3, 2)


def test_the_sample_cli_names_the_line_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, ids = _with_newer_line(tmp_path)
    assert main(["sample", "--store", str(store), "-n", "10"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    index = store / "index.jsonl"
    assert f"{index}:3: this index line is in index format version 2" in err
    assert "this release of pytest-opsladder reads version(s) 1" in err
    assert "Upgrade pytest-opsladder (pip install -U pytest-opsladder)" in err
    assert f"opsladder sample --reindex --store {store}" in err
    # the fix it names works: the index is rebuilt from the run files by this release
    assert main(["sample", "--store", str(store), "--reindex", "-n", "10"]) == 0
    assert _sampled(capsys.readouterr().out) == set(ids)


def test_review_refuses_an_index_of_an_unknown_version_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, _ = _with_newer_line(tmp_path)
    assert main(["review", "--list", "--store", str(store)]) == 2
    assert "this index line is in index format version 2" in capsys.readouterr().err


def test_lines_from_stdin_are_checked_too(tmp_path: Path) -> None:
    stream = _newer_line("a") + _newer_line("b")
    done = subprocess.run(
        [*CLI, "sample", "--strategy", "reservoir", "--input", "-", "-n", "5"],
        input=stream,
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )
    assert done.returncode == 2
    assert "<stdin>:1: this index line is in index format version 2" in done.stderr


@pytest.mark.parametrize("version", ["true", "1.0", '"1"', "null", "0"])
def test_a_version_that_only_looks_like_one_is_refused(tmp_path: Path, version: str) -> None:
    index = tmp_path / "index.jsonl"
    index.write_text(f'{{"v": {version}, "run_id": "r"}}\n')
    with pytest.raises(IndexVersionError):
        list(iter_index(index))


def test_version_one_in_any_spelling_and_lines_without_a_version_are_read(
    tmp_path: Path,
) -> None:
    index = tmp_path / "index.jsonl"
    lines = [
        '{"v":1,"run_id":"compact"}',
        '{"run_id": "spaced", "v": 1}',
        '{"run_id": "no-version", "note": "\\"v\\": 2 inside a string"}',
        '{"run_id": "nested", "metrics": {"v": 7}}',
    ]
    index.write_text("\n".join(lines) + "\n")
    stats = IndexReadStats()
    ids = [e["run_id"] for e in iter_index(index, stats)]
    assert ids == ["compact", "spaced", "no-version", "nested"]
    assert (stats.lines, stats.skipped) == (4, [])
