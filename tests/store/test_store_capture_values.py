"""Production ``capture()`` stores a run's output and input as tool values are stored (level 0).

An output holding a datetime, a Decimal, a dataclass, a NaN or numpy numbers used to end the
run with a raw ``TypeError`` after the agent had finished, and leave it ``incomplete`` in the
store for good (a NaN was written as a bare ``NaN`` the store's own reader refused).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_opsladder import capture
from pytest_opsladder.cli import main
from pytest_opsladder.exceptions import ToolArgumentError


@dataclasses.dataclass
class Refund:
    amount: decimal.Decimal
    at: dt.datetime


def stored(store: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text())["run"] for p in sorted(store.glob("*/*.json"))]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ({"at": dt.datetime(2024, 1, 2)}, {"at": "2024-01-02T00:00:00"}),
        (
            Refund(decimal.Decimal("9.50"), dt.datetime(2024, 1, 2)),
            {"amount": "9.50", "at": "2024-01-02T00:00:00"},
        ),
        ({"score": float("nan")}, {"score": {"__float__": "nan"}}),
        ({"scores": np.array([0.5, 1.0]), "n": np.int64(2)}, {"scores": [0.5, 1.0], "n": 2}),
        (b"\x00raw", {"__bytes_b64__": "AHJhdw=="}),
    ],
)
def test_an_output_that_is_not_json_is_stored_converted_and_the_run_completes(
    tmp_path: Path, output: Any, expected: Any
) -> None:
    store = tmp_path / "runs"
    with capture("ticket-42", "prod", store=store, input={"at": dt.date(2024, 1, 2)}) as run:
        run.output = output
    (record,) = stored(store)
    assert record["status"] == "complete"
    assert record["output"] == expected
    assert record["case"]["input"] == {"at": "2024-01-02"}
    assert len((store / "index.jsonl").read_text().splitlines()) == 1


def test_the_store_with_a_nan_output_exports_every_run(tmp_path: Path) -> None:
    store = tmp_path / "runs"
    for score in (float("nan"), 0.5):
        with capture("case", "prod", store=store) as run:
            run.output = {"score": score}
    out = tmp_path / "events.jsonl"
    assert main(["events", "jsonl", str(store), "-o", str(out)]) == 0
    runs = [json.loads(line) for line in out.read_text().splitlines()]  # a line per run
    assert [(r["type"], r["status"]) for r in runs] == [("run", "complete")] * 2


def test_an_output_no_conversion_stores_is_an_error_run_not_an_incomplete_one(
    tmp_path: Path,
) -> None:
    store = tmp_path / "runs"
    with (
        pytest.raises(ToolArgumentError, match=r"\$\.output is a builtins\.object"),
        capture("case", "prod", store=store) as run,
    ):
        run.output = object()
    (record,) = stored(store)
    assert record["status"] == "error"
    assert record["output"] is None
    assert "$.output" in record["error"]["message"]
    assert len((store / "index.jsonl").read_text().splitlines()) == 1
