"""Sampling: uniform, stratified, reservoir, interesting; reproducible with a seed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.store.errors import StoreConfigError
from pytest_opsladder.store.index import IndexReadStats
from pytest_opsladder.store.sampling import SampleSpec, Strategy, StratumField, sample_lines


def _entry(i: int, **over: Any) -> dict[str, Any]:
    base = {
        "run_id": f"r{i}",
        "status": "complete",
        "variant": "prod",
        "error_code": None,
        "tools": ["search"],
        "denials": 0,
        "duration_s": 1.0 + (i % 5) * 0.01,
        "metrics": {"tokens_out": 40 + i % 3, "tool_calls": 1},
    }
    return {**base, **over}


def _lines(entries: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(e).encode() for e in entries]


def _ids(drawn: list[dict[str, Any]]) -> list[str]:
    return [d["run_id"] for d in drawn]


def test_uniform_is_reproducible_with_a_seed_and_varies_without() -> None:
    lines = _lines([_entry(i) for i in range(1000)])
    one = sample_lines(lines, SampleSpec(Strategy.UNIFORM, 10, seed=7))
    assert _ids(one) == _ids(sample_lines(lines, SampleSpec(Strategy.UNIFORM, 10, seed=7)))
    assert set(_ids(one)) != set(
        _ids(sample_lines(lines, SampleSpec(Strategy.UNIFORM, 10, seed=8)))
    )
    assert len(set(_ids(one))) == 10


def test_uniform_gives_every_run_the_same_chance() -> None:
    lines = _lines([_entry(i) for i in range(50)])
    counts: Counter[str] = Counter()
    for seed in range(2000):
        counts.update(_ids(sample_lines(lines, SampleSpec(Strategy.UNIFORM, 5, seed=seed))))
    expected = 2000 * 5 / 50  # 200 draws per run
    chi2 = sum((counts[f"r{i}"] - expected) ** 2 / expected for i in range(50))
    assert chi2 < 90, chi2  # 49 degrees of freedom: p < 0.001 above ~86


def test_fewer_runs_than_asked_returns_them_all() -> None:
    lines = _lines([_entry(i) for i in range(3)])
    assert sorted(_ids(sample_lines(lines, SampleSpec(Strategy.UNIFORM, 10)))) == ["r0", "r1", "r2"]


def test_stratified_draws_from_every_stratum() -> None:
    entries = [_entry(i) for i in range(500)]
    entries += [_entry(1000 + i, status="error", error_code="Timeout") for i in range(4)]
    entries += [_entry(2000 + i, variant="next", tools=["refund", "search"]) for i in range(30)]
    spec = SampleSpec(
        Strategy.STRATIFIED, 2, seed=1, by=(StratumField.STATUS, StratumField.VARIANT)
    )
    drawn = sample_lines(_lines(entries), spec)
    strata = Counter(s for d in drawn for s in d["sample"]["strata"])
    assert strata == {
        "status=complete|variant=prod": 2,
        "status=error|variant=prod": 2,
        "status=complete|variant=next": 2,
    }
    by_tool = sample_lines(
        _lines(entries), SampleSpec(Strategy.STRATIFIED, 3, by=(StratumField.TOOL,))
    )
    assert {s for d in by_tool for s in d["sample"]["strata"]} == {"tool=search", "tool=refund"}


def test_stratified_labels_values_alike_as_keys_apart_and_odd_values_too() -> None:
    # 1, 1.0 and True are one dict key in Python, and a list is none: each stays its own
    # stratum, labelled as written, however often it repeats
    odd: list[Any] = [1, 1.0, True, "1", None, ["x"], {"a": 1}]
    entries = [_entry(i, status=odd[i % len(odd)]) for i in range(70)]
    entries += [_entry(100 + i, tools=t) for i, t in enumerate([["b", "a"], ["a", "b"], [], None])]
    spec = SampleSpec(Strategy.STRATIFIED, 50, by=(StratumField.STATUS,))
    strata = Counter(s for d in sample_lines(_lines(entries), spec) for s in d["sample"]["strata"])
    assert strata == {
        "status=1": 20,  # the int and the string "1", 10 runs each
        "status=1.0": 10,
        "status=True": 10,
        "status=(none)": 10,
        "status=['x']": 10,
        "status={'a': 1}": 10,
        "status=complete": 4,
    }
    spec = SampleSpec(Strategy.STRATIFIED, 100, by=(StratumField.TOOL,))
    strata = Counter(s for d in sample_lines(_lines(entries), spec) for s in d["sample"]["strata"])
    assert strata == {"tool=search": 70, "tool=a": 2, "tool=b": 2, "tool=(none)": 2}
    odd_tools = [_entry(200 + i, tools=t) for i, t in enumerate([[1], [True], [1.0], [1]])]
    strata = Counter(
        s for d in sample_lines(_lines(odd_tools), spec) for s in d["sample"]["strata"]
    )
    assert strata == {"tool=1": 2, "tool=True": 1, "tool=1.0": 1}


def test_interesting_finds_errors_denials_slow_runs_and_outliers() -> None:
    entries = [_entry(i) for i in range(300)]
    entries[100] = _entry(100, status="error", error_code="RateLimit")
    entries[150] = _entry(150, denials=2)
    entries[200] = _entry(200, duration_s=30.0)
    entries[250] = _entry(250, metrics={"tokens_out": 4000, "tool_calls": 1})
    drawn = sample_lines(_lines(entries), SampleSpec(Strategy.INTERESTING, 5, seed=3))
    reasons = {d["run_id"]: d["sample"]["reasons"] for d in drawn}
    assert reasons == {"r100": ["error"], "r150": ["denial"], "r200": ["slow"], "r250": ["outlier"]}


def test_interesting_with_an_explicit_slow_threshold() -> None:
    entries = [_entry(i, duration_s=float(i)) for i in range(20)]
    drawn = sample_lines(_lines(entries), SampleSpec(Strategy.INTERESTING, 50, slow_s=17.5))
    assert sorted(_ids(drawn)) == ["r18", "r19"]


def test_a_store_or_index_that_is_not_there_is_named_not_an_empty_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSLADDER_STORE", raising=False)
    missing = tmp_path / "runz"
    assert main(["sample", "--store", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"no run store at {missing}/" in err
    assert "Pass --store DIR" in err
    assert main(["sample", "--input", str(tmp_path / "index.jsnol")]) == 2
    assert f"--input {str(tmp_path / 'index.jsnol')!r} does not exist" in capsys.readouterr().err
    assert main(["review", "--list", "--store", str(missing)]) == 2
    assert f"no run store at {missing}/" in capsys.readouterr().err
    empty = tmp_path / "runs"
    empty.mkdir()
    assert main(["sample", "--store", str(empty)]) == 0  # a store with no runs yet: nothing
    assert capsys.readouterr().out == ""


def test_bad_strategy_and_field_list_the_valid_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", "--strategy", "random"]) == 2
    assert (
        "Valid values are: uniform, stratified, reservoir, interesting" in capsys.readouterr().err
    )
    assert main(["sample", "--strategy", "stratified", "--by", "colour"]) == 2
    assert "Valid values are: status, tool, error_code, variant" in capsys.readouterr().err
    with pytest.raises(StoreConfigError, match="at least 1"):
        sample_lines([], SampleSpec(n=0))


def test_reservoir_over_stdin_of_run_records(tmp_path: Path) -> None:
    records = [
        {
            "format": "pytest-opsladder/cassette",
            "schema_version": 1,
            "run": {
                "case": {"id": f"c{i}", "input": i},
                "variant": {"name": "prod"},
                "manifest": {"run_id": f"run{i}", "started_at": "2026-11-24T00:00:00Z"},
                "status": "complete",
                "events": [],
            },
        }
        for i in range(100)
    ]
    stream = "".join(json.dumps(r) + "\n" for r in records)
    args = [
        sys.executable,
        "-m",
        "pytest_opsladder.cli",
        "sample",
        "--strategy",
        "reservoir",
        "--input",
        "-",
        "-n",
        "4",
        "--seed",
        "5",
    ]
    first = subprocess.run(args, input=stream, capture_output=True, text=True, check=True)
    again = subprocess.run(args, input=stream, capture_output=True, text=True, check=True)
    drawn = [json.loads(line) for line in first.stdout.splitlines()]
    assert len(drawn) == 4
    assert all(d["run_id"].startswith("run") for d in drawn)
    assert first.stdout == again.stdout


def test_sample_to_a_file(tmp_path: Path) -> None:
    index = tmp_path / "index.jsonl"
    index.write_bytes(b"\n".join(_lines([_entry(i) for i in range(30)])) + b"\n")
    out = tmp_path / "sample.jsonl"
    assert main(["sample", "--store", str(tmp_path), "-n", "4", "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 4


def test_interesting_reads_lines_holding_nan_metrics_and_skips_garbage() -> None:
    entries = [_entry(i) for i in range(60)]
    nan_line = b'{"run_id": "nan-cost", "status": "error", "metrics": {"cost": NaN}}'
    lines = [*_lines(entries), nan_line, b'{"run_id": "cut-off", "status": "err']
    stats = IndexReadStats()
    drawn = sample_lines(lines, SampleSpec(Strategy.INTERESTING, 5, seed=3), stats)
    assert "nan-cost" in _ids(drawn)  # an error run, read although orjson refuses NaN
    assert stats.skipped == [62]


def test_interesting_flags_an_outlier_after_many_refreshes() -> None:
    entries = [_entry(i) for i in range(3500)]
    entries[2500] = _entry(2500, metrics={"tokens_out": 4000, "tool_calls": 1})
    drawn = sample_lines(_lines(entries), SampleSpec(Strategy.INTERESTING, 5, seed=3))
    assert [d["run_id"] for d in drawn if "outlier" in d["sample"]["reasons"]] == ["r2500"]


@pytest.mark.parametrize("metrics", ['"oops"', "5", "[1]", "true"])
@pytest.mark.parametrize("strategy", list(Strategy))
def test_an_index_line_whose_metrics_are_not_a_mapping_has_no_metrics(
    metrics: str, strategy: Strategy
) -> None:
    """A hand-edited line's metrics of another type crashed the interesting strategy with an
    AttributeError; the line is read as one without metrics (its error still counts)."""
    lines = [*_lines([_entry(i) for i in range(300)])]
    odd = f'{{"run_id": "odd", "status": "error", "error_code": "E", "metrics": {metrics}}}'
    lines.insert(150, odd.encode())
    drawn = sample_lines(lines, SampleSpec(strategy, 300, seed=3))
    assert "odd" in _ids(drawn)
