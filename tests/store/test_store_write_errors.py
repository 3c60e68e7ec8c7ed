"""A production run store that cannot be written says so in production terms: the store
directory, the cause, and the production fix (capture(store=...), $OPSLADDER_STORE), never a
pytest option (ladder level 7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_opsladder.capture.production import capture
from pytest_opsladder.cli import main
from pytest_opsladder.exceptions import CassetteWriteError
from pytest_opsladder.store.errors import StoreWriteError

PRODUCTION_FIX = "point the store elsewhere: capture(store=DIR), $OPSLADDER_STORE=DIR"


def assert_production_terms(message: str) -> None:
    assert "--opsladder" not in message
    assert "cassette" not in message  # the user wrote to a run store, not a cassette
    assert "ini key" not in message


def test_a_file_where_the_store_should_be_names_the_store_and_the_production_fix(
    tmp_path: Path,
) -> None:
    store = tmp_path / "runs"
    store.write_text("a file where the store directory should be")
    with pytest.raises(StoreWriteError) as info, capture("c1", "prod", store):
        raise AssertionError("not reached: the store refuses before the agent runs")
    message = str(info.value)
    assert f"(run store {store}/): Not a directory" in message
    assert f"Fix: {store} is a file where a directory is needed; move it away" in message
    assert PRODUCTION_FIX in message
    assert_production_terms(message)
    assert isinstance(info.value, CassetteWriteError)  # what callers caught before still works


def test_an_index_that_cannot_be_appended_to_says_the_run_is_saved_and_how_to_reindex(
    tmp_path: Path,
) -> None:
    (tmp_path / "index.jsonl").mkdir()  # a directory where the index file goes
    with pytest.raises(StoreWriteError) as info, capture("c1", "prod", tmp_path) as run:
        run.output = "done"
    message = str(info.value)
    assert f"cannot append to run-store file {tmp_path / 'index.jsonl'}" in message
    assert "Is a directory" in message
    saved = next(tmp_path.glob("*/*.json"))
    assert f"The run itself is saved at {saved}" in message
    assert f"opsladder sample --store {tmp_path} --reindex" in message
    assert_production_terms(message)


FILE_SIZE_LIMIT = """
import resource, signal, sys
from pytest_opsladder.capture.production import capture
from pytest_opsladder.store.errors import StoreWriteError

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    with capture("big", "prod", sys.argv[1]) as run:
        run.output = "x" * 100_000   # the run record outgrows the file size limit
except StoreWriteError as exc:
    print("NAMED", exc)
"""


def test_a_write_failing_mid_file_names_the_store_and_the_production_fix(tmp_path: Path) -> None:
    """A real write failure (the file size limit, as a full disk fails a write)."""
    store = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMIT, str(store)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("NAMED cannot write run-store file ")
    assert f"(run store {store}/): File too large" in done.stdout
    assert f"Fix: free space on the disk holding {store}" in done.stdout
    assert PRODUCTION_FIX in done.stdout
    assert_production_terms(done.stdout)


def test_sample_output_that_cannot_be_written_names_the_option_that_moves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with capture("c1", "prod", tmp_path / "runs") as run:
        run.output = "done"
    blocker = tmp_path / "out"
    blocker.write_text("a file")
    args = ["sample", "--store", str(tmp_path / "runs"), "-o", str(blocker / "s.jsonl")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"cannot write sample file {blocker / 's.jsonl'}" in err
    assert "write it elsewhere with -o FILE" in err
    assert_production_terms(err)
