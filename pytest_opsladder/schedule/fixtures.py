"""Fixtures of ladder level 1: an isolated monitors state file on a hand-moved clock."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.schedule.alerts import FileSink
from pytest_opsladder.schedule.check import MonitorReport, check_monitors
from pytest_opsladder.schedule.clock import ManualClock
from pytest_opsladder.schedule.monitors import Monitor
from pytest_opsladder.schedule.receipts import Receipts
from pytest_opsladder.schedule.state import MonitorStore


@dataclass
class MonitorKit:
    """A state file, its clock, a receipt sender into it, and a file sink to read alerts from."""

    store: MonitorStore
    clock: ManualClock
    receipts: Receipts
    alerts_path: Path

    def add(self, name: str, **fields: Any) -> Monitor:
        monitor = Monitor.create(name, **fields)
        self.store.add(monitor)
        return monitor

    def check(self) -> list[MonitorReport]:
        return check_monitors(self.store, [FileSink(self.alerts_path)])

    def alerts(self) -> list[dict[str, Any]]:
        if not self.alerts_path.exists():
            return []
        return [json.loads(line) for line in self.alerts_path.read_text().splitlines()]


@pytest.fixture
def opsladder_monitors(tmp_path: Path) -> MonitorKit:
    """Monitors in a fresh SQLite file on a ManualClock; alerts go to a file sink."""
    clock = ManualClock()
    store = MonitorStore(tmp_path / "monitors.sqlite", clock=clock)
    receipts = Receipts(store.path, clock=clock, spool=tmp_path / "spool.jsonl")
    return MonitorKit(store, clock, receipts, tmp_path / "alerts.jsonl")
