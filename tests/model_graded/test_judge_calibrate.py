"""``opsladder judge calibrate``: agreement of a judge with itself and with reviewers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from judge_servers import JudgeServer

from pytest_opsladder import Case, RunRecorder, Variant, configure_judge, judge
from pytest_opsladder.cli import main
from pytest_opsladder.model_graded.calibrate import cohen_kappa, percent_agreement
from pytest_opsladder.modes import Mode
from pytest_opsladder.store.reviews import Verdict, record_verdict


def test_cohen_kappa_matches_the_textbook_example() -> None:
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o 0.7, p_e 0.5, kappa 0.4
    first = ["y"] * 25 + ["n"] * 25
    second = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert percent_agreement(first, second) == pytest.approx(0.7)
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    assert cohen_kappa([1, 1], [1, 1]) == 1.0
    assert math.isnan(cohen_kappa([], []))


def _record_runs(root: Path, url: str, outputs: list[str]) -> list[str]:
    configure_judge(model="demo-judge-1", base_url=url)
    run_ids = []
    for i, text in enumerate(outputs):
        path = root / f"case-{i}.json"
        with RunRecorder(Case(f"case-{i}", {}), Variant("prod"), path, mode=Mode.RECORD) as run:
            run.output = {"summary": text}
            judge(run.output, "It is in one sentence.", name="one-sentence", path="summary")
        run_ids.append(run.run_id)
    return run_ids


def test_calibrate_prints_agreement_with_itself_and_with_reviewers(
    tmp_path: Path, judge_server: JudgeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = ["One point.", "One. Two.", "Single line.", "A. B. C."]
    run_ids = _record_runs(tmp_path / "cassettes", judge_server.url, outputs)
    store = tmp_path / "store"
    verdicts = [Verdict.GOOD, Verdict.GOOD, Verdict.GOOD, Verdict.BAD]  # reviewer disagrees once
    for run_id, verdict in zip(run_ids, verdicts, strict=True):
        record_verdict(store, run_id, verdict)
    code = main(
        [
            "judge",
            "calibrate",
            str(tmp_path / "cassettes"),
            "--repeats",
            "2",
            "--base-url",
            judge_server.url,
            "--store",
            str(store),
            "--json",
        ]
    )
    assert code == 0
    rows = {row["against"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["itself x2"]["n"] == 8
    assert rows["itself x2"]["percent_agreement"] == 1.0
    assert rows["itself x2"]["kappa"] == 1.0
    assert rows["reviewers"]["n"] == 4
    assert rows["reviewers"]["percent_agreement"] == 0.75


def test_calibrate_with_no_judge_calls_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["judge", "calibrate", str(tmp_path)]) == 1
    assert "no recorded judge calls" in capsys.readouterr().out
    assert main(["judge", "calibrate", str(tmp_path / "nope")]) == 2
    assert "no such cassette file or directory" in capsys.readouterr().err


def test_calibrate_that_measured_nothing_exits_1_with_valid_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # seen: the judge server down, every re-ask failed: exit 0, and `--json` printed
    # "kappa": NaN, which is not JSON (jq and CI parsers refuse it)
    server = JudgeServer().start()
    _record_runs(tmp_path / "cassettes", server.url, ["One point.", "One. Two."])
    server.stop()  # the judge is gone: connections are refused
    argv = ["judge", "calibrate", str(tmp_path / "cassettes"), "--base-url", server.url]
    assert main([*argv, "--repeats", "1", "--json"]) == 1
    captured = capsys.readouterr()
    rows = json.loads(captured.out, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    assert rows == [
        {"judge": "one-sentence", "against": "itself x1", "n": 0, "errors": 2,
         "percent_agreement": None, "kappa": None}
    ]  # fmt: skip
    assert "nothing was measured: every comparison failed (2 error(s))" in captured.err


def test_a_finished_run_is_graded_from_its_own_recording_and_never_appended_to(
    tmp_path: Path, judge_server: JudgeServer
) -> None:
    """Shadow re-checks the baseline's recording: its grades stay as recorded."""
    from pytest_opsladder.cassette import files
    from pytest_opsladder.nightmare.checks import evaluate, parse_check

    _record_runs(tmp_path, judge_server.url, ["One point. Two points."])
    calls = judge_server.requests
    judge_server.stop()
    recorded = files.load(tmp_path / "case-0.json")
    args = {"name": "one-sentence", "rubric": "It is in one sentence.", "path": "summary"}
    [result] = evaluate([parse_check({"judge": args})], recorded)
    assert result["passed"] is False
    assert "scored 0" in result["failure"]
    assert len(recorded.events_of("judge")) == 1  # read from, never appended to
    assert judge_server.requests == calls  # no live call
    changed = {**args, "rubric": "It is short."}
    [stale] = evaluate([parse_check({"judge": changed})], recorded)
    assert stale["error"] is True
    assert "the rubric changed" in stale["failure"]
