"""The HTML file itself: self-contained, every section present, the script never parses data."""

from __future__ import annotations

import html as html_lib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from pytest_opsladder.reports import write_reports
from pytest_opsladder.reports.html_report import render_report, script_source


def test_the_page_references_nothing_outside_itself(results: dict[str, Any]) -> None:
    html = render_report(results)
    assert re.findall(r"""\b(?:src|href|action|srcset)\s*=""", html) == []
    assert "<link" not in html
    assert "@import" not in html
    assert "url(" not in html


def test_the_script_never_turns_data_into_markup() -> None:
    script = script_source("report.js.j2")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "</script" not in script


def test_a_content_security_policy_pins_the_only_script(results: dict[str, Any]) -> None:
    html = render_report(results)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy is not None
    content = html_lib.unescape(policy.group(1))  # the attribute is HTML-escaped, as it should be
    assert "default-src 'none'" in content
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'$", content)
    assert len(re.findall(r"<script>", html)) == 1  # every other block is a JSON/data type


def test_every_section_a_reviewer_needs_is_shown(
    open_report: Callable[..., Any], results: dict[str, Any], console_errors: Callable[[], Any]
) -> None:
    driver = open_report(results)
    header = driver.find_element(By.CSS_SELECTOR, "#metric-table thead").text
    for column in ("test", "statistic", "p adjusted (Holm)", "effect, CI", "MDE", "verdict"):
        assert column in header
    rows = driver.find_elements(By.CSS_SELECTOR, "#metric-table tbody tr")
    gated = [m["name"] for m in results["metrics"] if m["gated"]]
    assert [r.get_attribute("data-metric") for r in rows] == gated
    listed = driver.find_elements(
        By.CSS_SELECTOR, "#changed-metric-table tbody tr, #unchanged-metrics summary [data-metric]"
    )
    others = [m["name"] for m in results["metrics"] if not m["gated"]]
    assert sorted(r.get_attribute("data-metric") for r in listed) == sorted(others)
    plots = driver.find_elements(By.CSS_SELECTOR, "[data-plot]")
    assert {p.get_attribute("data-plot") for p in plots} == set(gated) & set(
        results["distributions"]
    )
    assert driver.find_elements(By.CSS_SELECTOR, "[data-plot='pass_rate'] rect.cand")
    live = driver.find_element(By.ID, "live-call-table").text
    assert f"live {results['live_calls']['live']}" in live
    prov = driver.find_element(By.ID, "provenance-table").text
    assert results["provenance"]["git"]["commit"] in prov
    assert results["baseline"]["fingerprint"]["prompt_hash"] in prov
    assert results["candidate"]["fingerprint"]["model"] in prov
    assert (
        "false alarm"
        in driver.find_element(By.ID, "noise-floor")
        .find_element(By.XPATH, "following-sibling::p")
        .text
    )
    assert console_errors() == []


def test_without_an_aa_split_the_report_says_why(tmp_path: Path, results: dict[str, Any]) -> None:
    html = write_reports({**results, "aa_noise_floor": None}, tmp_path)["report.html"]
    assert "the baseline needs at least 2 epochs" in html.read_text("utf-8")


def test_the_page_is_whole_when_markupsafe_was_imported_again(
    results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytester's in-process runs restore sys.modules, so markupsafe can be imported a second
    # time after the template environment was built: a second Markup class. Markup the
    # template builds (a macro's output) must still be told from text, or it is escaped
    first = render_report(results)
    for name in [m for m in sys.modules if m == "markupsafe" or m.startswith("markupsafe.")]:
        monkeypatch.delitem(sys.modules, name)
    assert render_report(results) == first
