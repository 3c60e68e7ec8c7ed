"""Benchmark of the HTML report at 10,000 cases (level 7 reports).

Prints file size, write time and time to interactive in headless Chromium for the opsladder
report, next to the alternative a user would otherwise reach for, measured in the same run: the
case table with every case's outputs and trajectories dumped through pandas ``DataFrame.to_html``
(everything eager, in the DOM). Targets: <= 15 MB, written in <= 5 s, interactive in <= 3 s;
at 1366 x 768 the first screen shows at least 5 regressed cases with their failed check, and
summary.md stays under GitHub's 1 MiB job-summary limit.

    python benchmarks/bench_reports.py [N_CASES]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from pytest_opsladder.reports._headless import chromium
from pytest_opsladder.reports.html_report import render_report
from pytest_opsladder.reports.sample import sample_results
from pytest_opsladder.reports.text_safety import utf8_bytes
from pytest_opsladder.reports.writer import write_atomic, write_reports

TARGET_MB, TARGET_WRITE_S, TARGET_TTI_S = 15.0, 5.0, 3.0


def pandas_table(results: dict[str, Any], path: Path) -> float:
    """The alternative: every case with its outputs and trajectories via DataFrame.to_html."""
    import pandas as pd

    start = time.perf_counter()
    rows = []
    for case in results["cases"]:
        base, cand = case["baseline"]["runs"][0], case["candidate"]["runs"][0]
        rows.append(
            {
                "case_id": case["case_id"],
                "verdict": case["verdict"],
                "tags": ", ".join(case["tags"]),
                **case["metric_deltas"],
                "baseline_output": base["output_text"],
                "candidate_output": cand["output_text"],
                "baseline_trajectory": json.dumps(base["trajectory"]),
                "candidate_trajectory": json.dumps(cand["trajectory"]),
            }
        )
    html = pd.DataFrame(rows).to_html(index=False)
    path.write_text(f"<!doctype html><meta charset=utf-8>{html}", "utf-8")
    return time.perf_counter() - start


def open_timed(driver: Any, path: Path, ready: bool) -> float:
    """Seconds from navigation to load (and to the report's ready marker when ``ready``)."""
    driver.get("about:blank")
    start = time.perf_counter()
    driver.get(path.as_uri())  # returns after the load event
    if ready:
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1"
        )
    return time.perf_counter() - start


def first_expand(driver: Any) -> float:
    """Seconds to open the first case's details (decompress all details, render one)."""
    start = time.perf_counter()
    driver.find_element(By.CSS_SELECTOR, "tr.case-row").click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "tr.details .side"))
    return time.perf_counter() - start


FIRST_SCREEN_TEXT = """
const h = window.innerHeight, out = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const range = document.createRange();
  range.selectNodeContents(walker.currentNode);
  const box = range.getBoundingClientRect();
  const seen = box.height > 0 && box.top >= 0 && box.bottom <= h;
  if (seen) { out.push(walker.currentNode.textContent); }
}
return out.join(" ");
"""


def first_screen_cases(driver: Any, path: Path, results: dict[str, Any]) -> int:
    """Regressed cases whose id and failed check are both on the first 1366 x 768 screen."""
    size = {"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", size)
    driver.get(path.as_uri())
    text = driver.execute_script(FIRST_SCREEN_TEXT)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    regressed = [c for c in results["cases"] if c["verdict"] == "regressed"]
    check = "contains: refund"  # the sample's failed check
    return sum(c["case_id"] in text for c in regressed) if check in text else 0


def verdict(value: float, target: float) -> str:
    return f"target <= {target:g}: {'PASS' if value <= target else 'MISS'}"


def main() -> int:
    n_cases = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    results = sample_results(n_cases, seed=1)
    out = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    start = time.perf_counter()
    write_atomic(out / "html-only" / "report.html", utf8_bytes(render_report(results)))
    write_html = time.perf_counter() - start
    start = time.perf_counter()
    paths = write_reports(results, out / "ours")
    write_all = time.perf_counter() - start
    alt_path = out / "pandas.html"
    alt_write = pandas_table(results, alt_path)
    size = paths["report.html"].stat().st_size / 1e6
    alt_size = alt_path.stat().st_size / 1e6
    with chromium() as driver:
        open_timed(driver, paths["report.html"], ready=True)  # warm the browser once
        tti = min(open_timed(driver, paths["report.html"], ready=True) for _ in range(3))
        in_page = int(driver.execute_script("return document.body.getAttribute('data-ready-ms')"))
        expand = first_expand(driver)
        alt_tti = open_timed(driver, alt_path, ready=False)
        first = first_screen_cases(driver, paths["report.html"], results)
        alt_first = first_screen_cases(driver, alt_path, results)
    summary_kb = paths["summary.md"].stat().st_size / 1024
    json_mb = paths["results.json"].stat().st_size / 1e6
    print(f"{n_cases} cases; results.json {json_mb:.1f} MB; output in {out}")
    print(f"{'':28}{'opsladder':>12}{'pandas to_html':>16}")
    print(f"{'file size (MB)':28}{size:12.1f}{alt_size:16.1f}   {verdict(size, TARGET_MB)}")
    write = f"{write_html:12.2f}{alt_write:16.2f}   {verdict(write_html, TARGET_WRITE_S)}"
    print(f"{'write time (s)':28}{write}  (ours: report.html)")
    print(f"{'  all 4 report files (s)':28}{write_all:12.2f}")
    ready = f"{tti:12.2f}{alt_tti:16.2f}   {verdict(tti, TARGET_TTI_S)}"
    print(f"{'time to interactive (s)':28}{ready}  (ours: ready marker at {in_page} ms in page;")
    print(f"{'':28}{'':28}   pandas: its load event, and it cannot filter or sort)")
    print(f"{'first case expand (s)':28}{expand:12.2f}{'(all in DOM)':>16}")
    print(
        f"{'regressed + check, 1st screen':28}{first:12d}{alt_first:16d}   target >= 5: "
        f"{'PASS' if first >= 5 else 'MISS'}"
    )
    print(
        f"{'summary.md (KiB)':28}{summary_kb:12.1f}{'':16}   GitHub limit 1024: "
        f"{'PASS' if summary_kb < 1024 else 'MISS'}"
    )
    ok = size <= TARGET_MB and write_html <= TARGET_WRITE_S and tti <= TARGET_TTI_S
    ok = ok and first >= 5 and summary_kb < 1024
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
