"""The review page in headless Chromium: shows runs, escapes output, records, promotes."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from review_helpers import run_ids

from pytest_opsladder.nightmare.case import load_case
from pytest_opsladder.reports._headless import CHROMEDRIVER, CHROMIUM, chromium
from pytest_opsladder.review.server import ReviewSession, make_server, serve_in_thread, url_of
from pytest_opsladder.store.index import iter_index
from pytest_opsladder.store.reviews import read_reviews


@pytest.fixture
def review_url(store: Path, tmp_path: Path) -> Iterator[str]:
    session = ReviewSession(store, list(iter_index(store / "index.jsonl")), tmp_path / "nm")
    server = make_server(session)
    thread = serve_in_thread(server)
    try:
        yield url_of(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian's headless chromium, started as the HTML report's tests start it."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("Debian's chromium and chromium-driver are required (.ci/run installs them)")
    with chromium() as driver:
        yield driver


def test_page_shows_runs_and_never_runs_recorded_script(
    browser: object, review_url: str, store: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(review_url)  # type: ignore[attr-defined]
    sections = browser.find_elements(By.CSS_SELECTOR, "section.run")  # type: ignore[attr-defined]
    assert len(sections) == 3
    first = browser.find_element(By.ID, f"run-{run_ids(store)[0]}")  # type: ignore[attr-defined]
    assert "<script>window.__pwned = 1" in first.find_element(By.CSS_SELECTOR, "pre.output").text
    assert "help 0" in first.find_element(By.CSS_SELECTOR, "pre.input").text
    assert "latency_s" in first.find_element(By.CSS_SELECTOR, "table.metrics").text
    assert browser.execute_script("return window.__pwned === undefined")  # type: ignore[attr-defined]
    assert browser.title == "opsladder review"  # type: ignore[attr-defined]


def test_bad_verdict_with_promote_in_the_browser(
    browser: object, review_url: str, store: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    run_id = run_ids(store)[0]
    browser.get(review_url)  # type: ignore[attr-defined]
    section = browser.find_element(By.ID, f"run-{run_id}")  # type: ignore[attr-defined]
    section.find_element(By.CSS_SELECTOR, "input[name=verdict][value=bad]").click()
    section.find_element(By.NAME, "reviewer").send_keys("ann")
    section.find_element(By.NAME, "note").send_keys("reply carries <script> from the model")
    section.find_element(By.NAME, "promote").click()
    section.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # the form posts and the page reloads: wait for the answer page, not the one being left
    message = (
        WebDriverWait(browser, 10)
        .until(  # type: ignore[arg-type]
            lambda b: b.find_element(By.ID, "message")
        )
        .text
    )
    assert f"recorded bad for {run_id}; promoted to" in message
    review = read_reviews(store)[run_id][-1]
    assert (review["verdict"], review["reviewer"]) == ("bad", "ann")
    case_file = Path(review["promoted_to"])
    assert load_case(case_file).provenance["reason"] == "reply carries <script> from the model"
    shown = browser.find_element(By.ID, f"run-{run_id}").find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, "ul.verdicts"
    )
    assert "bad by ann" in shown.text
    assert "reply carries <script>" in shown.text
    assert browser.execute_script("return window.__pwned === undefined")  # type: ignore[attr-defined]


def test_a_run_outside_the_sample_is_refused(review_url: str, store: Path) -> None:
    data = b"run_id=not-sampled&verdict=bad&note=x"
    request = urllib.request.Request(review_url + "verdict", data=data, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert "not recorded" in response.read().decode()
    assert read_reviews(store) == {}


def test_the_page_forbids_scripts(review_url: str) -> None:
    with urllib.request.urlopen(review_url, timeout=10) as response:
        csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp


def test_serve_prints_a_loopback_url(store: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_opsladder.cli", "review", "--serve", "--store", str(store)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("reviewing 3 run(s) at http://127.0.0.1:")
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url, timeout=10) as response:
            assert "Review: 3 sampled run(s)" in response.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_bidi_and_control_characters_in_a_run_show_as_escapes(
    browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    from pytest_opsladder._visible import HIDDEN
    from pytest_opsladder.capture.production import capture

    store = tmp_path / "runs"
    with capture("refund\u202egpj.exe", "prod", store, input={"m": "hi\u2066"}) as run:
        run.output = {"reply": "ok \x1b[31mred\u200f"}
    session = ReviewSession(store, list(iter_index(store / "index.jsonl")), tmp_path / "nm")
    server = make_server(session)
    thread = serve_in_thread(server)
    try:
        browser.get(url_of(server))  # type: ignore[attr-defined]
        text = browser.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert not set(text) & (HIDDEN - {"\n", "\t"})
    assert "refund\\u202egpj.exe" in text
    assert "hi\\u2066" in text
    assert "\\u001b[31mred\\u200f" in text
