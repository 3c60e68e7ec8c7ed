"""Benchmark of the HTML report at 10,000 cases (level 7 reports).

Prints file size, write time and time to interactive in headless Chromium for the opsladder
report, next to the alternative a user would otherwise reach for, measured in the same run: the
case table with every case's outputs and trajectories dumped through pandas ``DataFrame.to_html``
(everything eager, in the DOM). Targets: <= 15 MB, written in <= 5 s, interactive in <= 3 s.

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
    ok = size <= TARGET_MB and write_html <= TARGET_WRITE_S and tti <= TARGET_TTI_S
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
