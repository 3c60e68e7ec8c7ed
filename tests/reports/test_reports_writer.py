"""write_reports and the CI summaries: what a CI job and a reviewer read."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder._visible import HIDDEN
from pytest_opsladder.reports import load_results, terminal_summary, write_reports
from pytest_opsladder.reports.errors import ReportWriteError, ResultsFileError
from pytest_opsladder.reports.sample import sample_results


def test_all_four_files_are_written(tmp_path: Path, results: dict[str, Any]) -> None:
    paths = write_reports(results, tmp_path / "reports")
    assert set(paths) == {"report.html", "results.json", "summary.md", "junit.xml"}
    assert all(p.parent == tmp_path / "reports" and p.stat().st_size > 0 for p in paths.values())
    assert json.loads(paths["results.json"].read_text("utf-8")) == results
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == sorted(paths)


def test_rewriting_replaces_files_and_leaves_no_temporaries(tmp_path: Path) -> None:
    write_reports(sample_results(5, seed=1), tmp_path)
    second = sample_results(7, seed=2)
    paths = write_reports(second, tmp_path)
    assert json.loads(paths["results.json"].read_text("utf-8"))["n_cases"] == 7
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_malformed_dict_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError, match="schema_version"):
        write_reports({**sample_results(2), "schema_version": 2}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way", "utf-8")
    with pytest.raises(ReportWriteError, match="cannot write reports into"):
        write_reports(sample_results(2), blocker / "reports")


def test_junit_has_a_testcase_per_gated_metric_and_one_for_the_gate(
    tmp_path: Path, results: dict[str, Any]
) -> None:
    root = ET.parse(write_reports(results, tmp_path)["junit.xml"]).getroot()
    cases = root.findall(".//testcase")
    gated = [m for m in results["metrics"] if m["gated"]]
    assert [c.get("name") for c in cases] == [f"metric[{m['name']}]" for m in gated] + ["gate"]
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    expected = {f"metric[{m['name']}]" for m in gated if m["verdict"] == "fail"}
    assert failed == expected | ({"gate"} if results["verdict"] == "fail" else set())
    props = {p.get("name"): p.get("value") for p in root.find("testsuite/properties")}
    assert props["verdict"] == results["verdict"]
    assert props["alpha"] == str(results["alpha"])


def test_an_inconclusive_gate_shows_as_skipped_in_junit(tmp_path: Path) -> None:
    res = sample_results(6, seed=4)
    res["verdict"] = "inconclusive"
    res["metrics"][0]["verdict"] = "inconclusive"
    root = ET.parse(write_reports(res, tmp_path)["junit.xml"]).getroot()
    skipped = [c.get("name") for c in root.iter("testcase") if c.find("skipped") is not None]
    assert skipped == [f"metric[{res['metrics'][0]['name']}]", "gate"]
    assert root.find("testsuite").get("failures") == "0"


def test_junit_failures_and_skips_carry_the_reason_as_text_for_gitlab(tmp_path: Path) -> None:
    # GitLab's parser shows a failed or skipped test's element *text* as its details; with the
    # reason only in the message attribute its test report showed no reason
    res = sample_results(6, seed=4)
    res["verdict"], res["verdict_reason"] = "fail", "pass_rate fell <by> 9 points ]]> & more"
    res["metrics"][0].update(verdict="inconclusive", reason="too few cases")
    root = ET.parse(write_reports(res, tmp_path)["junit.xml"]).getroot()
    gate = next(c for c in root.iter("testcase") if c.get("name") == "gate")
    assert gate.find("failure").text == "pass_rate fell <by> 9 points ]]> & more"
    assert gate.find("failure").get("message") == gate.find("failure").text
    first = root.find("testsuite/testcase")
    assert first.find("skipped").text == "inconclusive: too few cases"
    suite = root.find("testsuite")
    assert (suite.get("errors"), root.get("tests")) == ("0", suite.get("tests"))
    assert (root.get("failures"), root.get("skipped")) == (
        suite.get("failures"),
        suite.get("skipped"),
    )


def test_markdown_summary_has_the_verdict_metrics_and_worst_cases(
    tmp_path: Path, results: dict[str, Any]
) -> None:
    text = write_reports(results, tmp_path)["summary.md"].read_text("utf-8")
    assert text.startswith(f"## opsladder drift gate: {results['verdict'].upper()} (alpha 0.01)")
    assert "| pass\\_rate | yes | mcnemar\\_exact |" in text
    first_regressed = next(c for c in results["cases"] if c["verdict"] == "regressed")
    assert first_regressed["case_id"].split("-")[1] in text


def test_markdown_escapes_recorded_markup(tmp_path: Path) -> None:
    res = sample_results(3, seed=1, regress_fraction=1.0)
    res["verdict_reason"] = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) | x"
    res["cases"][0]["case_id"] = "<script>alert(1)</script>"
    text = write_reports(res, tmp_path)["summary.md"].read_text("utf-8")
    assert "<img" not in text
    assert "<script" not in text
    assert "[click](" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "\\[click\\](javascript" in text  # brackets escaped: literal text, not a link


def test_terminal_summary_is_short_and_leads_with_the_verdict(results: dict[str, Any]) -> None:
    lines = terminal_summary(results)
    assert lines[0].startswith(
        f"drift gate {results['verdict'].upper()} at alpha=0.01 (prod -> next)"
    )
    gated = [m["name"] for m in results["metrics"] if m["gated"]]
    assert [line.split()[0] for line in lines[1 : 1 + len(gated)]] == gated
    assert any(line.strip().startswith("cases:") for line in lines)
    assert all(len(line) < 160 for line in lines)


def test_importing_the_reports_api_loads_no_heavy_library() -> None:
    code = (
        "import sys, pytest_opsladder.reports; "
        "print(sorted(m for m in ('jinja2', 'pandas', 'selenium') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _unescaped_dollars(text: str) -> list[str]:
    """The lines with a `$` GitHub would read as a math delimiter (not written as `\\$`)."""
    return [line for line in text.splitlines() if re.search(r"(?<!\\)\$", line)]


def test_markdown_escapes_every_dollar_of_user_text(tmp_path: Path) -> None:
    # seen: a case "refund-$5" next to a reason "owes $10" rendered "5 ... owes " as math
    res = sample_results(4, seed=1, regress_fraction=1.0)
    res["verdict_reason"] = "cost rose from $1.20 to $2.40 per case"
    res["cases"][0]["case_id"] = "refund-$5"
    res["cases"][0]["candidate"]["runs"][0]["failed_checks"] = [
        {"check": "contains", "failure": "expected '$10' in the output"}
    ]
    res["cases"][1]["candidate"]["runs"][0]["failure_message"] = "assert $x$ == $y$"
    res["metrics"][0]["name"] = "cost_$"
    res["metrics"][0]["reason"] = "$$ delta $$"
    res["baseline"]["name"] = "prod-$"
    text = write_reports(res, tmp_path)["summary.md"].read_text("utf-8")
    assert _unescaped_dollars(text) == []
    assert "refund-\\$5" in text
    assert "from \\$1.20 to \\$2.40" in text
    assert "cost\\_\\$" in text


def test_markdown_and_junit_show_bidi_and_control_characters_as_escapes(
    tmp_path: Path,
) -> None:
    # seen: a case id "invoice\u202egpj.exe" read as "invoiceexe.jpg" in the job summary
    res = sample_results(3, seed=1, regress_fraction=1.0)
    res["cases"][0]["case_id"] = "invoice\u202egpj.exe"
    res["verdict_reason"] = "gate \u2066failed\u2069 \x1b[31mred\x1b[0m"
    res["metrics"][0]["name"] = "pass\u200frate"
    paths = write_reports(res, tmp_path)
    text = paths["summary.md"].read_text("utf-8")
    junit = paths["junit.xml"].read_text("utf-8")
    for written in (text, junit):
        assert not set(written) & (HIDDEN - {"\n", "\t"}), written
    assert "invoice\\\\u202egpj.exe" in text  # renders as invoice\u202egpj.exe
    assert "gate \\\\u2066failed\\\\u2069 \\\\u001b\\[31mred" in text
    assert "metric[pass\\u200frate]" in junit
    assert "\\u001b[31mred" in junit


def _put(res: dict[str, Any], key: str, value: int) -> None:
    """Set the value at a JSON path such as ``cases[1].baseline.runs[0].metrics.tokens_in``."""
    *parents, last = re.findall(r"[^.\[\]]+", key)
    holder: Any = res
    for part in parents:
        holder = holder[int(part)] if part.isdigit() else holder.setdefault(part, {})
    holder[int(last) if last.isdigit() else last] = value


@pytest.mark.parametrize("value", [10**400, -(10**400), 10**5000], ids=["e400", "-e400", "e5000"])
@pytest.mark.parametrize(
    "key",
    [
        "metrics[0].effect.estimate",
        "cases[2].metric_deltas.cost",
        "cases[1].baseline.runs[0].metrics.tokens_in",
        "distributions.cost.baseline[3]",
    ],
)
def test_an_integer_no_report_can_show_is_a_report_error_naming_its_field(
    tmp_path: Path, key: str, value: int
) -> None:
    # seen: write_reports on an in-memory results dict raised a bare OverflowError ("int too
    # large to convert to float"), or wrote a results.json `opsladder report` then refused
    res = sample_results(5, seed=1)
    _put(res, key, value)
    with pytest.raises(ResultsFileError) as raised:
        write_reports(res, tmp_path / "out")
    assert raised.value.key == key
    assert f"key {key!r} is an integer of about " in str(raised.value)
    assert "larger than any number a report can show" in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_a_long_run_of_digits_in_a_text_is_no_number(tmp_path: Path) -> None:
    res = sample_results(3, seed=1)
    res["cases"][0]["candidate"]["runs"][0]["output_text"] = "9" * 1000
    assert load_results(write_reports(res, tmp_path)["results.json"]) == res
