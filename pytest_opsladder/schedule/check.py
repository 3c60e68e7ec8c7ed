"""``monitors check``: the dead man's switch that lives outside the scheduler (ladder level 1).

Run it from any scheduler other than the one that runs the jobs (a cron line on another host,
a CI schedule, a systemd timer): a scheduler that drops a job leaves no trace, so the absence of
a receipt is detected here. Each check turns the state file into outcomes (an open start past
its limit is ``timed_out``; a slot past due + grace with no receipt is ``missed``; a ``fail``
receipt is ``failing``; a ``success`` is ``ok``), counts consecutive outcomes, and sends an
alert when a monitor crosses its failure threshold or its recovery threshold. Checks are
idempotent: a slot or a start is counted once however often the check runs.

Overlapping checks (cron runs overlap) raise each alert once: a monitor's state is read, its
outcomes counted and its alerts recorded in one ``BEGIN IMMEDIATE`` transaction, so a second
check waits and then sees the first one's result. Delivery happens after the commit (a slow
webhook never holds the lock); a retry is claimed in a transaction too, and an alert whose
sender crashed before delivering is taken over once its claim is CLAIM_LEASE_S old.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_opsladder.schedule.alerts import Alert, Severity, Sink, deliver
from pytest_opsladder.schedule.monitors import Outcome
from pytest_opsladder.schedule.state import MonitorState, MonitorStore

MAX_SLOTS_PER_CHECK = 1000
MAX_DELIVERY_ATTEMPTS = 5
CLAIM_LEASE_S = 600.0  # longer than any sink's timeout: a live sender is never raced


@dataclass(frozen=True)
class Delivery:
    """One attempt to send one alert to one sink, as ``monitors check`` reports it."""

    monitor: str
    kind: str
    state: str
    sink: str  # the sink's label: a secret in its target is masked
    result: str  # "ok" or "error: <type>: <message>" (redacted)
    attempt: int

    @property
    def failed(self) -> bool:
        return self.result != "ok"

    @property
    def retries_left(self) -> int:
        return max(MAX_DELIVERY_ATTEMPTS - self.attempt, 0)


@dataclass
class CheckResult:
    """What one check did: each monitor's report, and every delivery attempt it made."""

    reports: list[MonitorReport]
    deliveries: list[Delivery]

    @property
    def undelivered(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.failed]


def attempts(
    monitor: str, kind: str, state: str, results: dict[str, str], n: int
) -> list[Delivery]:
    return [Delivery(monitor, kind, state, sink, res, n) for sink, res in results.items()]


@dataclass
class MonitorReport:
    """What one check found for one monitor."""

    name: str
    status: str  # up, down, paused
    alert_kind: str | None = None
    outcomes: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    deliveries: list[dict[str, str]] = field(default_factory=list)


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def check_monitors(
    store: MonitorStore, sinks: Sequence[Sink], names: Sequence[str] | None = None
) -> list[MonitorReport]:
    """Evaluate every monitor (or ``names``) at ``store.clock()`` and deliver new alerts."""
    return run_check(store, sinks, names).reports


def run_check(
    store: MonitorStore, sinks: Sequence[Sink], names: Sequence[str] | None = None
) -> CheckResult:
    """:func:`check_monitors`, with every delivery attempt (retries of earlier alerts too)."""
    retried = _retry_deliveries(store, sinks)  # earlier alerts first: new ones were just sent
    states = [store.get(n) for n in names] if names else store.all()
    reports = [_check_one(store, st.monitor.name, sinks) for st in states]
    new = [
        d
        for r in reports
        for alert, results in zip(r.alerts, r.deliveries, strict=True)
        for d in attempts(r.name, alert.kind, alert.state, results, 1)
    ]
    return CheckResult(reports, retried + new)


def _check_one(store: MonitorStore, name: str, sinks: Sequence[Sink]) -> MonitorReport:
    with store.transaction():  # read state, count outcomes, record alerts: one step
        st = store.get(name)
        if st.paused:
            return MonitorReport(name, "paused", st.alert_kind)
        now = store.clock()
        _time_out_starts(store, st, now)
        _find_missed(store, st, now)
        report = _apply_outcomes(store, st)
        ids = [store.add_alert(name, a.state, a.kind, a.message) for a in report.alerts]
    for alert, alert_id in zip(report.alerts, ids, strict=True):
        result = deliver(alert, sinks)
        store.set_deliveries(alert_id, {"results": result, "attempts": 1})
        report.deliveries.append(result)
    return report


def _time_out_starts(store: MonitorStore, st: MonitorState, now: float) -> None:
    limit = st.monitor.runtime_limit
    for receipt_id, started, _run_id in store.open_starts(st.monitor.name):
        if now > started + limit:
            store.add_outcome(st.monitor.name, Outcome.TIMED_OUT, f"start:{receipt_id}", now)
            store.close_start(receipt_id)


def _find_missed(store: MonitorStore, st: MonitorState, now: float) -> None:
    name = st.monitor.name
    if store.open_starts(name):
        return  # a run is in progress: its limit, not the schedule, decides
    marks = (st.created_at, st.resumed_at, store.last_activity(name), store.last_missed_slot(name))
    ref = max(m for m in marks if m is not None)
    schedule = st.monitor.schedule()
    for _ in range(MAX_SLOTS_PER_CHECK):
        slot = schedule.next_slot(ref)
        if now <= slot.due + st.monitor.grace:
            return
        store.add_outcome(name, Outcome.MISSED, f"slot:{slot.opens!r}", slot.opens)
        ref = slot.opens


def _apply_outcomes(store: MonitorStore, st: MonitorState) -> MonitorReport:
    mon = st.monitor
    firing, kind = st.alert_state == "firing", st.alert_kind
    bad, good, last = st.bad_streak, st.good_streak, st.last_outcome
    report = MonitorReport(mon.name, "up")
    for outcome_id, outcome, at in store.outcomes_after(mon.name, st.last_outcome):
        last = outcome_id
        report.outcomes.append(outcome.value)
        bad, good = (0, good + 1) if outcome is Outcome.OK else (bad + 1, 0)
        if not firing and bad >= mon.failure_threshold:
            firing, kind = True, outcome.value
            report.alerts.append(_alert(store, st, outcome, at, bad, "firing"))
        elif firing and good >= mon.recovery_threshold:
            report.alerts.append(_alert(store, st, Outcome(kind or "ok"), at, good, "resolved"))
            firing, kind = False, None
    store.save_alert_state(
        mon.name,
        alert_state="firing" if firing else "ok",
        alert_kind=kind,
        bad_streak=bad,
        good_streak=good,
        last_outcome=last,
    )
    report.status, report.alert_kind = ("down" if firing else "up"), kind
    return report


def _alert(
    store: MonitorStore, st: MonitorState, outcome: Outcome, at: float, streak: int, state: str
) -> Alert:
    mon = st.monitor
    why = {
        Outcome.MISSED: f"no receipt for the run expected at {_iso(at)} "
        f"({mon.schedule().describe()}, grace {mon.grace:g}s)",
        Outcome.TIMED_OUT: f"a run started but sent no success/fail within {mon.runtime_limit:g}s",
        Outcome.FAILING: "the job reported fail: " + _last_fail_message(store, mon.name),
        Outcome.OK: "",
    }[outcome]
    if state == "resolved":
        why = f"recovered after {streak} consecutive success(es)"
    details = {"schedule": mon.schedule().describe(), "streak": streak, "at": _iso(at)}
    severity = Severity.INFO if state == "resolved" else Severity.CRITICAL
    return Alert(mon.name, outcome.value, severity, f"{mon.name}: {why}", state, details, _iso(at))


def _last_fail_message(store: MonitorStore, name: str) -> str:
    fails = [r for r in store.receipts(name, limit=20) if r["kind"] == "fail"]
    return str(fails[0]["message"] or "(no message)") if fails else "(no message)"


def _retry_deliveries(store: MonitorStore, sinks: Sequence[Sink]) -> list[Delivery]:
    """Resend alerts whose earlier delivery failed (to the sinks that failed) or whose sender
    crashed before delivering (to every sink), a few times, each attempt claimed once."""
    now = store.clock()
    done: list[Delivery] = []
    for row in store.alerts():
        if not _retry_due(row["deliveries"], now):
            continue
        record = store.claim_retry(row["id"], lambda rec: _retry_due(rec, now))
        if record is None:
            continue  # another check took it
        results = dict(record.get("results", {}))
        failed = {k for k, v in results.items() if v != "ok"}
        retry = [s for s in sinks if s.label in failed or not results]
        alert = Alert(row["monitor"], row["kind"], Severity.CRITICAL, row["message"], row["state"])
        sent = deliver(alert, retry)
        store.set_deliveries(row["id"], {"results": results | sent, "attempts": record["attempts"]})
        done += attempts(alert.name, alert.kind, alert.state, sent, record["attempts"])
    return done


def _retry_due(record: dict[str, Any], now: float) -> bool:
    claimed = record.get("claimed_at")
    if claimed is not None and now - float(claimed) < CLAIM_LEASE_S:
        return False  # a check is delivering it right now
    if record.get("attempts", 0) >= MAX_DELIVERY_ATTEMPTS:
        return False
    results = record.get("results", {})
    never_sent = claimed is not None and not results  # its sender crashed before delivering
    return never_sent or any(v != "ok" for v in results.values())
