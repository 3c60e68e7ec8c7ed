"""`opsladder nightmare ...`: add, promote (run / divergence), list, retire, dedupe, stats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pytest_opsladder.capture.production import capture
from pytest_opsladder.cli import main
from pytest_opsladder.nightmare.case import load_case


def nm(root: Path, *args: str) -> int:
    return main(["nightmare", "--dir", str(root), *args])


def _run_in_store(store: Path, case_id: str = "ticket-1", q: str = "charged twice") -> str:
    with capture(case_id, "prod", store, input={"message": q, "password": "hunter2"}) as run:
        run.output = {"answer": "refunded twice"}
    return run.run_id


def test_add_writes_a_valid_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "nm"
    code = nm(
        root,
        "add",
        "--id",
        "refund-twice",
        "--input",
        '{"q": 1}',
        "--check",
        "contains: refund",
        "--tag",
        "billing",
        "--severity",
        "high",
        "--reason",
        "t-4411",
    )
    assert code == 0
    case = load_case(root / "refund-twice.yaml")
    assert (case.id, case.tags, case.severity.value) == ("refund-twice", ("billing",), "high")
    assert case.provenance["reason"] == "t-4411"
    assert "pytest " in capsys.readouterr().out


def test_add_refuses_a_bad_check_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = nm(tmp_path, "add", "--id", "x", "--input", "1", "--check", "containz: a")
    assert code == 2
    assert "unknown check 'containz'" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.yaml"))


def test_promote_a_production_run_in_one_command(tmp_path: Path) -> None:
    store, root = tmp_path / "runs", tmp_path / "nm"
    run_id = _run_in_store(store)
    assert (
        nm(
            root,
            "promote",
            run_id,
            "--store",
            str(store),
            "--reason",
            "double refund",
            "--id",
            "double-refund",
            "--check",
            "not_contains: twice",
        )
        == 0
    )
    case = load_case(root / "double-refund.yaml")
    assert case.input == {"message": "charged twice", "password": "[REDACTED]"}
    assert case.provenance["source_run"] == run_id
    assert case.provenance["reason"] == "double refund"
    cassette = json.loads((root / "cassettes/double-refund/prod.json").read_text())
    assert cassette["run"]["case"]["id"] == "double-refund"
    assert cassette["run"]["manifest"]["run_id"] == run_id


def test_promote_refuses_an_input_already_in_the_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, root = tmp_path / "runs", tmp_path / "nm"
    first, second = _run_in_store(store), _run_in_store(store)
    assert nm(root, "promote", first, "--store", str(store)) == 0
    assert nm(root, "promote", second, "--store", str(store)) == 2
    assert "already has this input (canonical form)" in capsys.readouterr().err


def test_promote_an_unknown_run_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert nm(tmp_path / "nm", "promote", "nope", "--store", str(tmp_path)) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def _results(tmp_path: Path) -> Path:
    div = {
        "step": 1,
        "kind": "tool",
        "baseline": {"tool": "list_tags", "args": {}},
        "candidate": {"tool": "create_draft", "args": {}},
    }
    runs = {
        "baseline": {
            "runs": [
                {
                    "run_id": "b1",
                    "epoch": 0,
                    "passed": True,
                    "trajectory": [{"tool": "find"}, {"tool": "list_tags"}],
                }
            ]
        },
        "candidate": {
            "runs": [
                {
                    "run_id": "c1234567xyz",
                    "epoch": 0,
                    "passed": False,
                    "trajectory": [{"tool": "find"}, {"tool": "create_draft"}],
                }
            ]
        },
    }
    data = {
        "format": "pytest-opsladder/results",
        "schema_version": 1,
        "created_at": "2026-11-20T10:00:00Z",
        "baseline": {"name": "prod"},
        "candidate": {"name": "next"},
        "cases": [{"case_id": "note-a", "verdict": "regressed", "first_divergence": div, **runs}],
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    return path


def test_promote_a_shadow_divergence(tmp_path: Path) -> None:
    store, root = tmp_path / "runs", tmp_path / "nm"
    run_id = _run_in_store(store, "note-a", "a note")
    cassette = next(store.glob(f"*/{run_id}.json"))
    assert (
        nm(
            root,
            "promote",
            "--results",
            str(_results(tmp_path)),
            "--case",
            "note-a",
            "--cassette",
            str(cassette),
        )
        == 0
    )
    case = load_case(root / "note-a-div-c1234567.yaml")
    assert case.checks[0].to_dict() == {
        "tool_trajectory": {"mode": "strict", "calls": ["find", "list_tags"]}
    }
    assert case.provenance["source"] == "shadow"
    assert "step 1 (tool): list_tags -> create_draft" in case.provenance["reason"]
    assert (root / "cassettes/note-a-div-c1234567/prod.json").is_file()


def test_promote_divergence_without_input_says_to_pass_the_cassette(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        nm(tmp_path / "nm", "promote", "--results", str(_results(tmp_path)), "--case", "note-a")
        == 2
    )
    assert "Pass the baseline run's cassette with --cassette PATH" in capsys.readouterr().err


def test_retire_keeps_the_case_and_the_reason(tmp_path: Path) -> None:
    store, root = tmp_path / "runs", tmp_path / "nm"
    nm(root, "promote", _run_in_store(store), "--store", str(store), "--id", "old-case")
    assert nm(root, "retire", "old-case", "--reason", "feature removed") == 0
    assert not (root / "old-case.yaml").exists()
    assert load_case(root / "retired/old-case.yaml").id == "old-case"
    assert (root / "retired/cassettes/old-case/prod.json").is_file()
    history = [
        json.loads(line) for line in (root / "history/retired.jsonl").read_text().splitlines()
    ]
    assert history[0]["case_id"] == "old-case"
    assert history[0]["reason"] == "feature removed"


def test_dedupe_finds_the_same_canonical_input_and_retires_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "nm"
    root.mkdir()
    (root / "a.yaml").write_text("id: a\ninput: {x: 1, y: [1, 2]}\nseverity: high\n")
    (root / "b.yaml").write_text('id: b\ninput: {"y": [1, 2], "x": 1}\n')
    (root / "c.yaml").write_text("id: c\ninput: {x: 2}\n")
    assert nm(root, "dedupe") == 0
    assert "b duplicates a (same canonical input)" in capsys.readouterr().out
    assert nm(root, "dedupe", "--retire") == 0
    assert sorted(p.name for p in root.glob("*.yaml")) == ["a.yaml", "c.yaml"]
    assert "duplicate of a" in (root / "history/retired.jsonl").read_text()


def test_list_and_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "nm"
    nm(root, "add", "--id", "k1", "--input", "1", "--tag", "billing", "--severity", "critical")
    capsys.readouterr()
    assert nm(root, "list") == 0
    assert "k1" in capsys.readouterr().out
    assert nm(root, "stats") == 0
    out = capsys.readouterr().out
    assert "cases: 1 active, 0 retired" in out
    assert "without a cassette: 1 (k1)" in out


def test_promoted_case_yaml_round_trips(tmp_path: Path) -> None:
    root = tmp_path / "nm"
    nm(root, "add", "--id", "round", "--input", '{"a": "<b>"}', "--check", "regex: '^r'")
    raw = yaml.safe_load((root / "round.yaml").read_text())
    assert raw["checks"] == [{"regex": {"value": "^r"}}]
    assert raw["input"] == {"a": "<b>"}


def _store_run_file(store: Path, run_id: str) -> Path:
    (path,) = store.glob(f"*/{run_id}.json")
    return path


def test_promote_refuses_a_credential_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The nightmare set is committed and shared: a run file edited by hand (or from a store
    that did not redact) holding a key, or a key pasted into --reason, is refused."""
    store, root = tmp_path / "runs", tmp_path / "nm"
    run_file = _store_run_file(store, _run_in_store(store))
    doc = json.loads(run_file.read_text())
    key = "sk-proj-Qz8rT2vX9mL4nB7cQz8rT2vX9mL4nB7c"
    doc["run"]["output"] = {"answer": f"use {key}"}
    run_file.write_text(json.dumps(doc))
    assert nm(root, "promote", str(run_file), "--id", "leak", "--reason", "r") == 2
    err = capsys.readouterr().err
    assert "refusing to write a credential into the cassette" in err
    assert "$.output.answer" in err
    assert key not in err
    assert not root.exists() or not list(root.rglob("*.*"))
    assert nm(root, "add", "--id", "x", "--input", '{"q": 1}', "--reason", f"see {key}") == 2
    assert "$.provenance.reason" in capsys.readouterr().err
    assert not root.exists() or not list(root.rglob("*.*"))


def test_a_failed_cassette_write_takes_the_case_back_and_a_retry_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, root = tmp_path / "runs", tmp_path / "nm"
    run_id = _run_in_store(store)
    (root / "cassettes").mkdir(parents=True)
    (root / "cassettes" / "px").write_text("in the way")
    assert nm(root, "promote", run_id, "--store", str(store), "--id", "px", "--reason", "r") == 2
    assert not (root / "px.yaml").exists()
    (root / "cassettes" / "px").unlink()
    assert nm(root, "promote", run_id, "--store", str(store), "--id", "px", "--reason", "r") == 0
    assert (root / "px.yaml").is_file()
    assert (root / "cassettes" / "px" / "prod.json").is_file()
    capsys.readouterr()


def test_a_cassette_with_no_case_is_never_replaced_by_a_promotion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, root = tmp_path / "runs", tmp_path / "nm"
    run_id = _run_in_store(store)
    orphan = root / "cassettes" / "p3" / "prod.json"
    orphan.parent.mkdir(parents=True)
    orphan.write_text("recorded earlier")
    assert nm(root, "promote", run_id, "--store", str(store), "--id", "p3", "--reason", "r") == 2
    assert "a cassette is already at" in capsys.readouterr().err
    assert orphan.read_text() == "recorded earlier"
    assert not (root / "p3.yaml").exists()


def _promote_one(args: tuple[str, str, str, int]) -> int:
    root, store, run_id, k = args
    return main(["nightmare", "--dir", root, "promote", run_id, "--store", store,
                 "--id", "same-id", "--reason", f"reviewer {k}"])  # fmt: skip


def test_promotions_racing_for_one_id_leave_one_case_with_its_own_cassette(
    tmp_path: Path,
) -> None:
    import multiprocessing

    store, root = tmp_path / "runs", tmp_path / "nm"
    runs = [_run_in_store(store, f"ticket-{k}", f"question {k}") for k in range(6)]
    jobs = [(str(root), str(store), run_id, k) for k, run_id in enumerate(runs)]
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        codes = pool.map(_promote_one, jobs)
    assert sorted(codes) == [0, 2, 2, 2, 2, 2]
    case = load_case(root / "same-id.yaml")
    cassette = json.loads((root / "cassettes" / "same-id" / "prod.json").read_text())
    assert cassette["run"]["manifest"]["run_id"] == case.provenance["source_run"]


@pytest.mark.parametrize("where", ["empty", "missing"])
def test_list_of_a_set_without_cases_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    root = tmp_path / "nm"
    if where == "empty":
        root.mkdir()
    assert nm(root, "list") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"no cases in {str(root)!r}")
    assert ("there is no nightmare set directory there" in out) == (where == "missing")


def test_a_file_given_as_the_set_is_a_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "nm.yaml"
    root.write_text("id: x\n")
    assert nm(root, "list") == 2
    assert f"the nightmare set {str(root)!r} is a file, not a directory" in capsys.readouterr().err


BAD_IDS = ["../../evil", "../evil", "a/b", "a\\b", "/abs", "a..b", "..", ".hidden"]


@pytest.mark.parametrize("case_id", BAD_IDS)
def test_a_case_id_that_is_a_path_is_refused_naming_the_id_and_the_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case_id: str
) -> None:
    # seen: `nightmare add --id ../../evil` failed naming nightmare_set/evil-0fbfd372a483.yaml,
    # a file that never existed and that the user never named
    root = tmp_path / "set" / "nightmare_set"
    assert nm(root, "add", "--id", case_id, "--input", '{"q": 1}') == 2
    err = capsys.readouterr().err
    assert f"--id {case_id!r} is refused: a case id names the case's file" in err
    assert "no path separator ('/' or '\\') and no '..'" in err
    assert ".yaml:" not in err  # no file is named as if it were the culprit
    assert list(tmp_path.rglob("*.yaml")) == []


@pytest.mark.parametrize("case_id", ["../../evil", "a..b"])
def test_promote_with_a_path_for_an_id_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case_id: str
) -> None:
    store = tmp_path / "runs"
    run_id = _run_in_store(store)
    root = tmp_path / "nightmare_set"
    assert nm(root, "promote", run_id, "--store", str(store), "--id", case_id) == 2
    assert f"--id {case_id!r} is refused" in capsys.readouterr().err
    assert not root.exists()


def test_add_warns_of_a_python_check_whose_module_is_not_found_and_runs_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The form of a ``python`` target was all `add` checked: a typo'd module was found only
    when the set was next collected. `add` now says so at once (the case is written: the
    module may be importable only from the test run), and never imports the check's module."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evalchecks").mkdir()
    (tmp_path / "evalchecks" / "__init__.py").write_text("")
    marker = tmp_path / "imported"
    (tmp_path / "evalchecks" / "refunds.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef ok(output, run):\n    return True\n"
    )
    root = tmp_path / "nm"
    assert nm(root, "add", "--id", "a", "--input", "1", "--check",
              "python: 'evalchecks.refunds:ok'") == 0  # fmt: skip
    assert "warning" not in capsys.readouterr().err
    assert not marker.exists()
    assert nm(root, "add", "--id", "b", "--input", "2", "--check",
              "python: 'evalchecks.refundz:ok'") == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "python check 'evalchecks.refundz:ok'" in err
    assert "module 'evalchecks.refundz' is not found" in err
    assert str(root / "b.yaml") in err
    assert (root / "b.yaml").exists()
