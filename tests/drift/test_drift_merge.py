"""Shards written per worker/CI job and `opsladder merge` give the verdict of one whole run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.drift.errors import ShardError
from pytest_opsladder.drift.gate import parse_gate_config
from pytest_opsladder.drift.results import load_results, score
from pytest_opsladder.drift.shards import merge_shards, read_shard, write_shard
from pytest_opsladder.drift.table import metrics_table
from pytest_opsladder.reports.results_file import load_results as load_report_results

GATE = parse_gate_config(
    {
        "pass_rate": {"worse": "lower", "margin": 0.05},
        "latency": {"worse": "higher", "margin": "10%"},
    }
)


def _table(paired_runs):
    runs = paired_runs(
        16, epochs=2, cand=lambda i, e: {"passed": i % 4 != 0, "latency": 1.0 + 0.1 * (i % 3)}
    )
    return metrics_table(runs)


def _shard(path: Path, table, **extra) -> Path:
    return write_shard(
        path,
        table,
        baseline="prod",
        candidate="next",
        gate=GATE,
        epochs={"candidate": 2},
        extra=extra,
    )


def test_merged_shards_score_exactly_like_the_whole_table(
    tmp_path: Path, paired_runs, capsys
) -> None:
    table = _table(paired_runs)
    cases = sorted(table["case_id"].unique())
    half = table["case_id"].isin(cases[:7])
    # shards split by case AND one case split across shards by epoch: pairing survives the merge
    split = (table["case_id"] == cases[7]) & (table["epoch"] == 1)
    s1 = _shard(tmp_path / "shards" / "w1.jsonl", table[half | split], live_calls={"live": 10})
    s2 = _shard(
        tmp_path / "shards" / "w2.jsonl",
        table[~half & ~split],
        live_calls={"live": 22},
        case_meta={cases[0]: {"tags": ["t"], "severity": "high"}},
    )
    out = tmp_path / "results.json"
    code = main(["merge", str(s1), str(s2), "-o", str(out)])
    merged = load_results(out)
    direct = score(table, baseline="prod", candidate="next", gate=GATE)
    assert code == (1 if direct["verdict"] == "fail" else 0)
    assert merged["verdict"] == direct["verdict"]
    assert merged["n_cases"] == 16
    assert merged["live_calls"]["live"] == 32
    for got, want in zip(merged["metrics"], direct["metrics"], strict=True):
        assert got["name"] == want["name"]
        assert got["p_value"] == pytest.approx(want["p_value"], rel=1e-12), got["name"]
    assert f"verdict: {merged['verdict']}" in capsys.readouterr().out
    meta = next(c for c in merged["cases"] if c["case_id"] == cases[0])
    assert meta["severity"] == "high"


def test_a_run_present_in_two_shards_counts_once(tmp_path: Path, paired_runs) -> None:
    table = _table(paired_runs)
    a = _shard(tmp_path / "a.jsonl", table)
    b = _shard(tmp_path / "b.jsonl", table.iloc[:10])
    assert len(merge_shards([a, b]).table) == len(table)


def test_shards_of_different_comparisons_refuse_to_merge(tmp_path: Path, paired_runs) -> None:
    table = _table(paired_runs)
    a = _shard(tmp_path / "a.jsonl", table)
    b = write_shard(tmp_path / "b.jsonl", table, baseline="prod", candidate="other", gate=GATE)
    with pytest.raises(ShardError, match="disagree on 'candidate'"):
        merge_shards([a, b])
    assert main(["merge", str(a), str(b), "-o", str(tmp_path / "r.json")]) == 2


def test_corrupt_shard_names_file_and_line(tmp_path: Path, paired_runs) -> None:
    path = _shard(tmp_path / "w.jsonl", _table(paired_runs))
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:3], '{"truncated": ', *lines[4:]]))
    with pytest.raises(ShardError, match=r"w.jsonl:4 is not JSON"):
        read_shard(path)
    other = tmp_path / "x.jsonl"
    other.write_text(json.dumps({"format": "nope"}) + "\n")
    with pytest.raises(ShardError, match="not a pytest-opsladder shard"):
        read_shard(other)


def test_gate_survives_the_shard_header(tmp_path: Path, paired_runs) -> None:
    shard = read_shard(_shard(tmp_path / "w.jsonl", _table(paired_runs)))
    assert parse_gate_config(shard.settings["gate"]) == GATE
    assert shard.settings["alpha"] == 0.01


def test_a_shard_of_its_header_alone_merges_to_an_inconclusive_verdict(
    tmp_path: Path, paired_runs, capsys
) -> None:
    # seen in CI: a job whose every case had no baseline yet wrote a header-only shard, and
    # `opsladder merge` died with a KeyError traceback and exit 1, read as a failed gate
    table = _table(paired_runs)
    lost = {"missing_baseline": {"new-case": "no baseline cassette"}}
    shard = _shard(tmp_path / "job.jsonl", table.iloc[0:0], lost=lost)
    out = tmp_path / "results.json"
    assert main(["merge", str(shard), "-o", str(out)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    results = load_report_results(out)  # the reports read what merge wrote
    assert results["verdict"] == "inconclusive"
    assert results["n_cases"] == 0
    assert results["cases_lost"] == {"new-case": "no baseline cassette"}
    assert main(["merge", str(shard), "-o", str(out), "--fail-on-inconclusive"]) == 1


def _edit_row(row: dict, header: dict, key: str, value: object) -> None:
    row[key] = value


def _edit_header(row: dict, header: dict, key: str, value: object) -> None:
    target = header
    *parents, last = key.split(".")
    for parent in parents:
        target = target[parent]
    target[last] = value


@pytest.mark.parametrize(
    ("edit", "key", "value", "line"),
    [
        (_edit_row, "case_id", None, 2),
        (_edit_row, "role", "other", 2),
        (_edit_row, "passed", "yes", 2),
        (_edit_row, "epoch", "x", 2),
        (_edit_row, "latency_s", "0.1", 2),
        (_edit_header, "settings", [], 1),
        (_edit_header, "settings.gate", "pass_rate", 1),
        (_edit_header, "live_calls", {"live": "many"}, 1),
        (_edit_header, "provenance", "x", 1),
        (_edit_header, "fingerprints", {"baseline": "x"}, 1),
        (_edit_header, "case_meta", {"c": {"tags": "abc"}}, 1),
        (_edit_header, "first_divergences", {"c": "x"}, 1),
        (_edit_header, "lost", {"missing_baseline": "abc"}, 1),
    ],
)
def test_a_shard_of_the_wrong_shape_is_refused_naming_file_line_and_key(
    tmp_path: Path, paired_runs, capsys, edit, key: str, value: object, line: int
) -> None:
    # valid JSON of the wrong shape once reached pandas: a traceback and exit 1 (a "failed
    # gate"), or a results file that `opsladder report` then refused
    path = _shard(tmp_path / "w.jsonl", _table(paired_runs), provenance={}, fingerprints={})
    header, row, *rest = (json.loads(text) for text in path.read_text().splitlines())
    edit(row, header, key, value)
    path.write_text("\n".join(json.dumps(d) for d in (header, row, *rest)) + "\n")
    out = tmp_path / "results.json"
    assert main(["merge", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"w.jsonl:{line}: key '{key.split('.')[0]}" in err
    assert "regenerate the shard" in err
    assert not out.exists()
