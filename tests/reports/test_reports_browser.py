"""The HTML report in a real headless Chromium: loads clean, filters, sorts, stays inert."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from pytest_opsladder._visible import HIDDEN
from pytest_opsladder.reports.sample import sample_results

Opener = Callable[..., Any]
INJECTED = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'


def _ready(driver: Any) -> None:
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1"
    )


def _rows(driver: Any) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "#case-body tr.case-row")


def _column(driver: Any, index: int) -> list[str]:
    script = (
        "return [...document.querySelectorAll('#case-body tr.case-row')]"
        ".map(r => r.cells[arguments[0]].textContent)"
    )
    return list(driver.execute_script(script, index))


def test_report_loads_without_console_errors(
    open_report: Opener, results: dict[str, Any], console_errors: Callable[[], list[Any]]
) -> None:
    driver = open_report(results)
    _ready(driver)
    assert console_errors() == []
    banner = driver.find_element(By.ID, "verdict")
    assert banner.get_attribute("data-verdict") == results["verdict"]
    assert "0.01" in banner.text
    assert len(_rows(driver)) == len(results["cases"])
    assert driver.find_elements(By.CSS_SELECTOR, "svg path.base")  # an ECDF was drawn


def test_regressions_are_listed_first(open_report: Opener, results: dict[str, Any]) -> None:
    driver = open_report(results)
    _ready(driver)
    verdicts = [r.get_attribute("data-verdict") for r in _rows(driver)]
    n_regressed = sum(c["verdict"] == "regressed" for c in results["cases"])
    assert n_regressed > 0
    assert verdicts[:n_regressed] == ["regressed"] * n_regressed


def test_filtering_by_verdict_tag_metric_and_text(
    open_report: Opener, results: dict[str, Any]
) -> None:
    driver = open_report(results)
    _ready(driver)
    Select(driver.find_element(By.ID, "f-verdict")).select_by_value("regressed")
    expected = [c["case_id"] for c in results["cases"] if c["verdict"] == "regressed"]
    assert _column(driver, 0) == expected
    Select(driver.find_element(By.ID, "f-verdict")).select_by_value("")
    tag = "billing"
    Select(driver.find_element(By.ID, "f-tag")).select_by_value(tag)
    assert sorted(_column(driver, 0)) == sorted(
        c["case_id"] for c in results["cases"] if tag in c["tags"]
    )
    Select(driver.find_element(By.ID, "f-tag")).select_by_value("")
    Select(driver.find_element(By.ID, "f-metric")).select_by_value("pass_rate")
    changed = [c["case_id"] for c in results["cases"] if c["metric_deltas"]["pass_rate"] != 0]
    assert sorted(_column(driver, 0)) == sorted(changed)
    Select(driver.find_element(By.ID, "f-metric")).select_by_value("")
    driver.find_element(By.ID, "f-text").send_keys("00007")
    assert [c for c in _column(driver, 0)] == [
        c["case_id"] for c in results["cases"] if "00007" in c["case_id"]
    ]
    assert "showing 1 of 40" in driver.find_element(By.ID, "shown").text


def test_sorting_by_clicking_headers(open_report: Opener, results: dict[str, Any]) -> None:
    driver = open_report(results)
    _ready(driver)
    header = driver.find_element(By.CSS_SELECTOR, "th[data-key='id']")
    header.click()
    ids = sorted(c["case_id"] for c in results["cases"])
    assert _column(driver, 0) == ids
    header.click()
    assert _column(driver, 0) == ids[::-1]
    assert header.get_attribute("aria-sort") == "descending"
    driver.find_element(By.CSS_SELECTOR, "th[data-key='delta:latency_s']").click()
    col = [
        c.get_attribute("data-key")
        for c in driver.find_elements(By.CSS_SELECTOR, "#case-table thead th")
    ]
    values = [float(v) for v in _column(driver, col.index("delta:latency_s"))]
    assert values == sorted(values)


def test_pages_of_a_long_table(open_report: Opener) -> None:
    driver = open_report(sample_results(250, seed=9))
    _ready(driver)
    assert len(_rows(driver)) == 100
    assert driver.find_element(By.ID, "page").text == "page 1 of 3"
    driver.find_element(By.ID, "next").click()
    driver.find_element(By.ID, "next").click()
    assert len(_rows(driver)) == 50
    assert driver.find_element(By.ID, "page").text == "page 3 of 3"


def test_expanding_a_case_shows_trajectories_divergence_and_diffs(
    open_report: Opener, results: dict[str, Any], console_errors: Callable[[], list[Any]]
) -> None:
    case = next(c for c in results["cases"] if c["verdict"] == "regressed")
    driver = open_report(results)
    _ready(driver)
    driver.find_element(By.CSS_SELECTOR, f"tr[data-case='{case['case_id']}']").click()
    details = WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f"tr[data-details-for='{case['case_id']}'] .side")
    )
    step = case["first_divergence"]["step"]
    diverged = details.find_elements(By.CSS_SELECTOR, "tr.diverged")
    assert len(diverged) == 2  # the same step, highlighted on both sides
    assert all(row.find_elements(By.TAG_NAME, "td")[0].text == str(step) for row in diverged)
    holder = driver.find_element(By.CSS_SELECTOR, f"tr[data-details-for='{case['case_id']}']")
    arg_rows = holder.find_elements(By.CSS_SELECTOR, "table.arg-diffs tr")
    assert len(arg_rows) >= 2  # header + the differing argument or tool
    assert holder.find_elements(By.CSS_SELECTOR, "pre.text-diff ins")
    assert console_errors() == []


def test_screenshot_is_not_blank(
    open_report: Opener, results: dict[str, Any], tmp_path: Path
) -> None:
    driver = open_report(results)
    _ready(driver)
    png = driver.get_screenshot_as_png()
    (tmp_path / "report.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 50
    assert image.getpixel((10, 10)) == (0xB4, 0x23, 0x18)  # the FAIL banner's red


def test_injected_markup_in_recorded_content_never_runs(
    open_report: Opener, console_errors: Callable[[], list[Any]]
) -> None:
    res = sample_results(6, seed=2, regress_fraction=1.0)
    case = res["cases"][0]
    case["case_id"] = "evil</script><script>window.__pwned = 3</script>"
    case["tags"] = [INJECTED]
    run = case["candidate"]["runs"][0]
    run["output_text"] = "before " + INJECTED + " after"
    run["trajectory"][0]["args"] = {"q": INJECTED}
    run["failed_checks"] = [INJECTED]
    res["verdict_reason"] = INJECTED
    res["metrics"][0]["reason"] = INJECTED
    driver = open_report(res)
    _ready(driver)
    driver.find_element(By.CSS_SELECTOR, "tr.case-row").click()
    pre = WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".run-candidate pre.output")
    )
    assert pre.get_attribute("textContent") == run["output_text"]
    assert driver.execute_script("return window.__pwned === undefined")
    assert (
        driver.execute_script("return document.querySelectorAll('main img, main script').length")
        == 0
    )
    assert driver.find_element(By.CSS_SELECTOR, "tr.case-row td").text == case["case_id"]
    assert INJECTED in driver.find_element(By.ID, "verdict").text
    assert console_errors() == []


def test_the_epoch_selector_switches_the_runs_shown(
    open_report: Opener, results: dict[str, Any], console_errors: Callable[[], list[Any]]
) -> None:
    case = results["cases"][0]
    case["candidate"]["runs"][1]["output_text"] = "the second epoch said this"
    driver = open_report(results)
    _ready(driver)
    driver.find_element(By.CSS_SELECTOR, "tr.case-row").click()
    pre = WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".run-candidate pre.output")
    )
    assert pre.get_attribute("textContent") == case["candidate"]["runs"][0]["output_text"]
    Select(driver.find_element(By.CSS_SELECTOR, "tr.details select")).select_by_value("1")
    shown = driver.find_element(By.CSS_SELECTOR, ".run-candidate pre.output")
    assert shown.get_attribute("textContent") == "the second epoch said this"
    assert console_errors() == []


def test_details_come_from_the_right_case_after_sorting_across_chunks(
    open_report: Opener, console_errors: Callable[[], list[Any]]
) -> None:
    res = sample_results(450, seed=6)  # 3 compressed chunks of case details
    for case in res["cases"]:
        case["candidate"]["runs"][0]["output_text"] = f"output of {case['case_id']}"
    driver = open_report(res)
    _ready(driver)
    assert len(driver.find_elements(By.CSS_SELECTOR, "script.case-details")) == 3
    header = driver.find_element(By.CSS_SELECTOR, "th[data-key='id']")
    header.click()
    header.click()  # descending: the first row is the last case id, in the last chunk
    last = max(c["case_id"] for c in res["cases"])
    driver.find_element(By.CSS_SELECTOR, "tr.case-row").click()
    pre = WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".run-candidate pre.output")
    )
    assert pre.get_attribute("textContent") == f"output of {last}"
    assert console_errors() == []


def test_bidi_and_control_characters_show_as_escapes_everywhere_on_the_page(
    open_report: Opener, console_errors: Callable[[], list[Any]]
) -> None:
    # seen: a case id "invoice\u202egpj.exe" read as "invoiceexe.jpg" in the report
    # (Trojan-source spoofing), and an output's ESC sequences reached the page verbatim
    res = sample_results(6, seed=2, regress_fraction=1.0)
    case = res["cases"][0]
    case["case_id"] = "invoice\u202egpj.exe"
    case["tags"] = ["bill\u2067ing"]
    run = case["candidate"]["runs"][0]
    run["output_text"] = "line one\r\nred \x1b[31mtext\u202e end"
    run["trajectory"][0]["args"] = {"q": "a\u2066b"}
    run["failed_checks"] = ["check\u200f"]
    res["verdict_reason"] = "gate\u202e reason \x07"
    res["metrics"][0]["reason"] = "metric\u202b reason"
    res["baseline"]["name"] = "prod\u202d"
    driver = open_report(res)
    _ready(driver)
    first = driver.find_element(By.CSS_SELECTOR, "tr.case-row")
    assert first.find_element(By.TAG_NAME, "td").text == "invoice\\u202egpj.exe"
    first.click()
    pre = WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".run-candidate pre.output")
    )
    assert pre.get_attribute("textContent") == "line one\\r\nred \\u001b[31mtext\\u202e end"
    page = driver.execute_script("return document.title + document.body.innerText")
    assert not set(page) & (HIDDEN - {"\n", "\t"})
    for shown in ("gate\\u202e reason \\u0007", "metric\\u202b reason", "prod\\u202d"):
        assert shown in page
    assert '{"q":"a\\\\u2066b"}' in page  # the arguments' JSON, the escape escaped again
    Select(driver.find_element(By.ID, "f-tag")).select_by_visible_text("bill\\u2067ing")
    assert _column(driver, 0) == ["invoice\\u202egpj.exe"]  # the filter still finds it
    assert console_errors() == []
