"""Which of the suite's cases a shadow session judged, and what the verdict may claim (L7).

The gate judges the cases that ran. A session that stopped before every selected case ran
(``-x``, ``--maxfail``, ``--sw``, a worker that went away) is not the suite: its verdict is
inconclusive, saying how many cases did not run, each of them a lost pair. A session whose
collection failed (a test file that does not import) gives no verdict at all, with or without
xdist (under xdist the other files still run). A deliberate selection (``-k``, ``-m``,
``--deselect``, ``--lf``) is judged on what it selected, and the verdict says it covers k of
the n cases (``--lf``, which does not collect the rest, that it covers the last failures).

Case items are counted where they are collected (on each xdist worker, merged on the
controller); items that finished are counted where their reports arrive (the controller).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Coverage:
    """The session's case items: selected and deselected (node id -> case id), finished."""

    selected: dict[str, str] = field(default_factory=dict)
    deselected: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    stopped: str | None = None  # why the session stopped early, as pytest said it
    last_failed: set[str] = field(default_factory=set)  # --lf: the failures it reruns

    def not_run(self) -> list[str]:
        """Cases with a selected item that never finished."""
        return sorted({case for node, case in self.selected.items() if node not in self.finished})

    def selected_cases(self) -> set[str]:
        return set(self.selected.values())

    def deselected_cases(self) -> set[str]:
        return set(self.deselected.values()) - self.selected_cases()

    def why_not_run(self) -> str:
        return f"did not run: {self.stopped or 'the session ended before it ran'}"

    def finalize(self, results: dict[str, Any]) -> None:
        """The verdict with what the session covered: inconclusive when selected cases did
        not run; a note of k of n cases when some were deselected."""
        not_run = self.not_run()
        if not_run:
            total = len(self.selected_cases())
            results["verdict"] = "inconclusive"
            results["verdict_reason"] = (
                f"the session stopped before every selected case ran "
                f"({self.stopped or 'it ended early'}): {len(not_run)} of {total} selected "
                "case(s) did not run, and the gate does not judge part of the suite; rerun "
                "them all (without -x, --maxfail or --sw) for a verdict. On the cases that "
                f"ran: {results.get('verdict_reason', '')}"
            )
        results["verdict_reason"] = str(results.get("verdict_reason", "")) + self.note()

    def note(self) -> str:
        """`` [this run covers 6 of 8 cases: 2 deselected ...]`` for a deliberate selection;
        ``--lf`` leaves the rest uncollected, so it is named instead of counted."""
        chosen, dropped = len(self.selected_cases()), self.deselected_cases()
        note = ""
        if dropped:
            note += (
                f" [this run covers {chosen} of {chosen + len(dropped)} cases: {len(dropped)} "
                "deselected (-k, -m, --deselect or --sw)]"
            )
        if self.last_failed & set(self.selected):
            note += (
                f" [--lf: this run covers only the {chosen} case(s) picked from the last "
                "failures, not the whole suite]"
            )
        return note

    def as_dict(self) -> dict[str, Any]:
        """What a worker hands the controller: the items it collected (not what finished)."""
        return {"selected": self.selected, "deselected": self.deselected}

    def merge(self, data: dict[str, Any]) -> None:
        self.selected.update(data.get("selected") or {})
        self.deselected.update(data.get("deselected") or {})


def stop_reason(session: Any) -> str | None:
    """Why pytest stopped the session before its end (-x, --maxfail, --sw), else None."""
    why = session.shouldfail or session.shouldstop
    if not why:
        return None
    return why if isinstance(why, str) else "the session was stopped early"


def cases_of(items: list[Any]) -> dict[str, str]:
    """Node id -> case id of the items that record a run."""
    from pytest_opsladder.fixtures import case_for_item
    from pytest_opsladder.setup_order import records_a_run

    return {item.nodeid: case_for_item(item).id for item in items if records_a_run(item)}


def last_failures(config: Any) -> set[str]:
    """With --lf, the node ids it reruns (as the cache had them before this session)."""
    if not config.getoption("lf", False):
        return set()
    failed = getattr(config.pluginmanager.get_plugin("lfplugin"), "lastfailed", None) or ()
    return {str(nodeid) for nodeid in failed}  # pytest 9.2 keys them by a NodeId object
