"""Bad input: empty results, a 1 MB output, undecodable bytes, an unknown schema version."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from pytest_opsladder.cli import main
from pytest_opsladder.reports import load_results, terminal_summary, write_reports
from pytest_opsladder.reports.case_payload import MAX_TEXT_CHARS
from pytest_opsladder.reports.sample import sample_results

Opener = Callable[..., Any]
UNDECODABLE = b"caf\xe9 \xff\xfe na\xefve ok".decode("utf-8", "surrogateescape")


def _empty() -> dict[str, Any]:
    res = sample_results(0, seed=1)
    res.update(metrics=[], distributions={}, diagnostics=[], verdict="inconclusive")
    return res


def _ready(driver: Any) -> None:
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1"
    )


def _expand_first(driver: Any) -> Any:
    driver.find_element(By.CSS_SELECTOR, "tr.case-row").click()
    return WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".run-candidate pre.output")
    )


def test_empty_results_render_every_file(
    open_report: Opener, console_errors: Callable[[], list[Any]], tmp_path: Path
) -> None:
    res = _empty()
    driver = open_report(res)
    _ready(driver)
    assert driver.find_element(By.ID, "no-cases").text == "No cases were scored in this run."
    assert "No metrics were scored." in driver.find_element(By.TAG_NAME, "main").text
    assert console_errors() == []
    paths = write_reports(res, tmp_path / "again")
    names = [c.get("name") for c in ET.parse(paths["junit.xml"]).getroot().iter("testcase")]
    assert names == ["gate"]
    assert "No case regressed." in paths["summary.md"].read_text("utf-8")
    assert terminal_summary(res)[-2] == "  cases: no cases"


def test_a_one_megabyte_output_is_cut_in_the_page_and_kept_in_the_json(
    open_report: Opener, console_errors: Callable[[], list[Any]], tmp_path: Path
) -> None:
    res = sample_results(3, seed=4, regress_fraction=1.0)
    huge = ("line of model output " * 50 + "\n") * 1000
    assert len(huge) >= 1_000_000
    res["cases"][0]["candidate"]["runs"][0]["output_text"] = huge
    res["cases"][0]["candidate"]["runs"][0]["trajectory"][0]["result"] = huge
    driver = open_report(res)
    _ready(driver)
    pre = _expand_first(driver)
    result_cell = driver.find_element(
        By.CSS_SELECTOR, ".run-candidate table.trajectory tr:nth-child(2) td:nth-child(4)"
    )
    assert len(result_cell.text) < 2100
    assert result_cell.text.endswith(" characters)")
    assert len(pre.get_attribute("textContent")) == MAX_TEXT_CHARS
    heading = pre.find_element(By.XPATH, "preceding-sibling::h4[1]").text
    assert f"first {MAX_TEXT_CHARS} of {len(huge)} characters" in heading
    assert console_errors() == []
    copied = load_results(tmp_path / "out" / "results.json")
    assert copied["cases"][0]["candidate"]["runs"][0]["output_text"] == huge


def test_undecodable_bytes_show_as_replacement_characters(
    open_report: Opener, console_errors: Callable[[], list[Any]], tmp_path: Path
) -> None:
    res = sample_results(3, seed=4, regress_fraction=1.0)
    res["cases"][0]["candidate"]["runs"][0]["output_text"] = UNDECODABLE
    res["cases"][0]["baseline"]["runs"][0]["output_text"] = "already replaced: caf\ufffd"
    res["cases"][0]["case_id"] = "case-" + UNDECODABLE
    res["verdict_reason"] = UNDECODABLE
    driver = open_report(res)
    _ready(driver)
    text = _expand_first(driver).get_attribute("textContent")
    assert text == "caf\ufffd \ufffd\ufffd na\ufffdve ok"  # one U+FFFD per undecodable byte
    assert "caf\ufffd" in driver.find_element(By.ID, "verdict").text
    assert console_errors() == []
    out = tmp_path / "out"
    assert load_results(out / "results.json") == res  # lossless: the bytes are still there
    assert "caf\ufffd" in (out / "summary.md").read_text("utf-8")
    ET.parse(out / "junit.xml")  # still well-formed XML


def test_raw_undecodable_bytes_in_a_results_file_are_read(tmp_path: Path) -> None:
    res = sample_results(2, seed=1)
    res["cases"][0]["candidate"]["runs"][0]["output_text"] = "MARK"
    raw = json.dumps(res, ensure_ascii=False).encode().replace(b"MARK", b"caf\xe9\x00\x1b[31m")
    path = tmp_path / "results.json"
    path.write_bytes(raw)
    assert main(["report", str(path), "-o", str(tmp_path / "out")]) == 0
    ET.parse(tmp_path / "out" / "junit.xml")
    assert (tmp_path / "out" / "report.html").read_bytes().decode("utf-8")  # valid UTF-8


def test_unknown_schema_version_is_a_clear_cli_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "future.json"
    path.write_text(json.dumps({**sample_results(2), "schema_version": 7}), "utf-8")
    assert main(["report", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("opsladder report: error: ")
    assert f"{str(path)!r} has schema_version 7" in err
    assert "reads schema version(s) 1" in err
    assert not (tmp_path / "out").exists()


def test_sparse_run_summaries_still_open(
    open_report: Opener, console_errors: Callable[[], list[Any]]
) -> None:
    res = sample_results(2, seed=4, regress_fraction=1.0)
    res["cases"][0]["baseline"]["runs"] = [{"run_id": "b0"}]
    res["cases"][0]["candidate"]["runs"] = [{"output_text": None, "trajectory": None}]
    driver = open_report(res)
    _ready(driver)
    pre = _expand_first(driver)
    assert pre.get_attribute("textContent") == ""
    for side in ("baseline", "candidate"):
        text = driver.find_element(By.CSS_SELECTOR, f".run-{side}").text
        assert "(no output text)" in text
        assert "status n/a, passed n/a" in text
    assert console_errors() == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("provenance", "x"),
        ("baseline", 5),
        ("candidate", [1]),
        ("live_calls", "x"),
        ("distributions", 7),
        ("diagnostics", "x"),
        ("aa_noise_floor", "x"),
        ("epochs", "x"),
        ("cases[0].baseline", "x"),
        ("cases[0].metric_deltas", [1]),
    ],
)
def test_an_optional_key_of_the_wrong_type_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any
) -> None:
    """Optional keys may be absent (shown as n/a); one of another type is bad input, refused
    with exit 2 naming the file and the key, never a traceback from inside a template."""
    res = sample_results(3, seed=1)
    if key.startswith("cases[0]."):
        res["cases"][0][key.split(".", 1)[1]] = value
    else:
        res[key] = value
    path = tmp_path / "results.json"
    path.write_text(json.dumps(res), encoding="utf-8")
    assert main(["report", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"key '{key}' is {value!r}" in err
    assert str(path) in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "report.html").exists()


def _set_path(doc: Any, path: str, value: Any) -> None:
    """Set ``doc`` at a JSON path such as ``cases[0].baseline.runs[0].trajectory``."""
    parts = [
        int(p) if p.isdigit() else p for p in path.replace("[", ".").replace("]", "").split(".")
    ]
    for part in parts[:-1]:
        doc = doc[part]
    doc[parts[-1]] = value


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cases[0].baseline.runs", 3),
        ("cases[0].baseline.runs[0]", None),
        ("cases[0].candidate.runs[0].trajectory", 7),
        ("cases[0].first_divergence", {"step": 1, "baseline": "b", "candidate": None}),
        ("metrics[0].effect", [1, 2]),
        ("metrics[0].baseline_summary", "x"),
        ("distributions", {"latency_s": {"baseline": 5, "candidate": []}}),
        ("aa_noise_floor", {"epochs_split": 5, "metrics": []}),
        ("aa_noise_floor", {"epochs_split": [1, 1], "metrics": ["x"]}),
        ("diagnostics", [5]),
        ("provenance", {"git": "abc", "packages": {}}),
        ("baseline", {"name": "prod", "fingerprint": "x"}),
    ],
)
def test_a_nested_container_of_the_wrong_type_is_refused_naming_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any
) -> None:
    """A results file edited by hand (or written by another producer) with ``"runs": 3`` or
    ``"fingerprint": "x"`` once crashed `opsladder report` inside a template (a traceback,
    exit 1); the container at fault is named, exit 2, and nothing is written."""
    res = sample_results(3, seed=1, epochs=2)
    _set_path(res, key, value)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(res), encoding="utf-8")
    assert main(["report", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"key '{key}" in err
    assert "docs/results-schema.md" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_integer_past_any_float_is_refused_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    res = sample_results(3, seed=1)
    res["metrics"][0]["statistic"] = 10**400  # json writes it; no report can format it
    path = tmp_path / "results.json"
    path.write_text(json.dumps(res), encoding="utf-8")
    assert main(["report", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "(401 digits)" in err
    assert "Traceback" not in err
