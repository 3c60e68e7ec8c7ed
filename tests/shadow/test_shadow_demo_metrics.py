"""Done when (issue 12): the demo's shadow report tests no bookkeeping metric, and every tested
metric's n equals the number of paired cases (metrics derived on load, for every baseline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_demo_shadow_tests_only_behaviour_on_every_pair(pytester: pytest.Pytester) -> None:
    # under xdist: the runs reach the controller's metrics table through workeroutput
    reports = Path(pytester.path) / "reports"
    result = pytester.runpytest_subprocess(
        str(REPO / "nightmare_set"), f"--rootdir={REPO}", "-c", str(REPO / "pyproject.toml"),
        "-p", "no:cacheprovider", "--opsladder-shadow", f"--opsladder-report-dir={reports}",
        "-q", "-n", "2",
    )  # fmt: skip
    assert "Traceback" not in result.stderr.str()
    doc = json.loads((reports / "results.json").read_text())
    paired = doc["n_cases"]
    assert paired == len(list((REPO / "nightmare_set").rglob("*.yaml")))
    tested = [m for m in doc["metrics"] if m.get("n") is not None]
    assert tested
    assert not [m["name"] for m in tested if m["name"].startswith(("http_", "_"))]
    assert {m["name"]: m["n"] for m in tested} == {m["name"]: paired for m in tested}
