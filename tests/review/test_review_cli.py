"""The review CLI path: verdicts, promotion of a bad run, two reviewers at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from review_helpers import run_ids

from pytest_opsladder.cli import main
from pytest_opsladder.nightmare.case import load_case
from pytest_opsladder.store.reviews import read_reviews


def test_verdict_is_recorded_in_the_store(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = run_ids(store)[1]
    assert (
        main(
            [
                "review",
                run_id,
                "--store",
                str(store),
                "--verdict",
                "good",
                "--note",
                "fine",
                "--reviewer",
                "ann",
            ]
        )
        == 0
    )
    record = json.loads(capsys.readouterr().out)
    assert (record["verdict"], record["note"], record["reviewer"]) == ("good", "fine", "ann")
    assert read_reviews(store)[run_id][0]["verdict"] == "good"


def test_bad_verdict_promotes_the_run_in_one_action(store: Path, tmp_path: Path) -> None:
    run_id = run_ids(store)[0]
    nightmare = tmp_path / "nightmare_set"
    assert (
        main(
            [
                "review",
                run_id,
                "--store",
                str(store),
                "--verdict",
                "bad",
                "--note",
                "leaked a script",
                "--promote",
                "--case-id",
                "xss-reply",
                "--nightmare-dir",
                str(nightmare),
            ]
        )
        == 0
    )
    case = load_case(nightmare / "xss-reply.yaml")
    assert case.provenance["source_run"] == run_id
    assert case.provenance["reason"] == "leaked a script"
    assert (nightmare / "cassettes/xss-reply/prod.json").is_file()
    assert read_reviews(store)[run_id][0]["promoted_to"] == str(nightmare / "xss-reply.yaml")


def test_promoting_a_good_run_is_refused(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["review", run_ids(store)[0], "--store", str(store), "--verdict", "good", "--promote"])
        == 2
    )
    assert "only a 'bad' verdict promotes" in capsys.readouterr().err
    assert read_reviews(store) == {}


def test_bad_verdict_value_lists_the_valid_ones(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", run_ids(store)[0], "--store", str(store), "--verdict", "meh"]) == 2
    assert (
        "'meh' is not a valid verdict. Valid values are: good, bad, unsure."
        in capsys.readouterr().err
    )


def test_list_shows_sampled_runs_with_their_latest_verdict(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_ids(store)[0]
    main(["review", first, "--store", str(store), "--verdict", "unsure"])
    capsys.readouterr()
    assert main(["review", "--list", "--store", str(store), "-n", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert any(first in line and "verdict=unsure" in line for line in lines)


REVIEWER = """
import sys
from pathlib import Path
from pytest_opsladder.store.reviews import Verdict, record_verdict
store, who, run_ids = Path(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
for i in range(50):
    for run_id in run_ids:
        record_verdict(store, run_id, Verdict.BAD, f"{who} note {i}", reviewer=who)
"""


def test_two_reviewers_writing_at_once_both_keep_their_verdicts(store: Path) -> None:
    ids = ",".join(run_ids(store))
    procs = [
        subprocess.Popen([sys.executable, "-c", REVIEWER, str(store), who, ids])
        for who in ("ann", "bob")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    reviews = read_reviews(store)
    for run_id in run_ids(store):
        by = [r["reviewer"] for r in reviews[run_id]]
        assert by.count("ann") == 50
        assert by.count("bob") == 50


@pytest.mark.parametrize("run_id", ["no-such-run", "8c6b6211"])
def test_a_verdict_on_an_id_that_is_no_run_is_refused(
    store: Path, capsys: pytest.CaptureFixture[str], run_id: str
) -> None:
    """A mistyped or truncated id used to be recorded, leaving the real run unlabelled."""
    assert main(["review", run_id, "--store", str(store), "--verdict", "bad"]) == 2
    assert f"no run {run_id!r}" in capsys.readouterr().err
    assert read_reviews(store) == {}


def test_a_second_reviewer_whose_promotion_fails_keeps_the_verdict(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """alice promotes the run; bob marks it bad and asks to promote it too: the case id is
    taken, so the run is not added again, but bob's verdict and note are recorded."""
    run_id = run_ids(store)[0]
    nightmare = str(tmp_path / "nightmare_set")
    for reviewer, code in (("alice", 0), ("bob", 2)):
        args = ["review", run_id, "--store", str(store), "--verdict", "bad", "--promote",
                "--note", f"{reviewer} saw it", "--reviewer", reviewer,
                "--nightmare-dir", nightmare]  # fmt: skip
        assert main(args) == code
    err = capsys.readouterr().err
    assert f"recorded 'bad' for run {run_id}, but did not promote it" in err
    assert "is taken" in err
    kept = read_reviews(store)[run_id]
    assert [(r["reviewer"], r["note"]) for r in kept] == [
        ("alice", "alice saw it"),
        ("bob", "bob saw it"),
    ]
    assert [bool(r["promoted_to"]) for r in kept] == [True, False]


@pytest.mark.parametrize("what", ["directory", "missing", "fifo"])
@pytest.mark.parametrize("action", [["--list"], ["--serve", "--port", "0"]], ids=["list", "serve"])
def test_a_sample_path_that_is_no_sample_file_is_named_with_the_fix(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str, action: list[str]
) -> None:
    # seen: --sample DIR gave "Is a directory ('samples'). Check the path and its
    # permissions"; a mistyped --sample printed nothing and exited 0, as if nothing was drawn
    sample = tmp_path / "samples"
    if what == "directory":
        sample.mkdir()
    elif what == "fifo":
        os.mkfifo(sample)  # reading it would block the command forever
    assert main(["review", *action, "--store", str(store), "--sample", str(sample)]) == 2
    err = capsys.readouterr().err
    shown = {"directory": "is a directory", "missing": "does not exist", "fifo": "is a FIFO"}
    assert err.startswith(f"opsladder review: error: --sample {str(sample)!r} {shown[what]}")
    assert "it must be the sample file `opsladder sample -o FILE` wrote (JSON lines)" in err
    assert "leave --sample out to draw a new sample from the store" in err


def test_sample_input_that_is_a_directory_is_not_called_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sample", "--input", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--input {str(tmp_path)!r} is a directory, not a file; it must be a run index" in err


def test_a_case_id_that_is_a_path_is_refused_before_the_verdict_is_recorded(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = run_ids(store)[0]
    nightmare = tmp_path / "nightmare_set"
    args = ["review", run_id, "--store", str(store), "--verdict", "bad", "--promote"]
    args += ["--case-id", "../../evil", "--nightmare-dir", str(nightmare)]
    assert main(args) == 2
    assert "--case-id '../../evil' is refused: a case id names" in capsys.readouterr().err
    assert run_id not in read_reviews(store)
    assert not nightmare.exists()
