"""``opsladder monitors ...``: define monitors, send receipts, and run the check (level 1).

    opsladder monitors add nightly --cron "30 2 * * *" --tz Europe/Berlin --grace 15m
    opsladder monitors send nightly start --target http://monitors:8787   # from the job
    opsladder monitors check --sink stderr --sink webhook:https://hooks/x # from another scheduler
    opsladder monitors pause nightly / resume nightly / list / serve --port 8787

The state file is ``--db`` (default ``$OPSLADDER_MONITORS_DB`` or ``monitors.sqlite``). ``check``
exits 1 while any monitor is alerting or when an alert it sent (or retried) did not reach a
sink, so the scheduler running it can page on its own too; each undelivered alert is printed on
stderr with its sink (secrets in the target masked) and the error. ``send`` always exits 0: a
receipt never fails the job that sends it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from typing import Any

from pytest_opsladder._cli_types import port
from pytest_opsladder.schedule.alerts import Alert, Severity, Sink, deliver, load_sinks
from pytest_opsladder.schedule.check import MAX_DELIVERY_ATTEMPTS, Delivery, attempts, run_check
from pytest_opsladder.schedule.errors import MonitorStateError
from pytest_opsladder.schedule.monitors import Monitor
from pytest_opsladder.schedule.state import MonitorStore


def register(sub: Any) -> None:
    parser = sub.add_parser("monitors", help="receipts and monitors (level 1)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_parser(actions)
    for name, func, text in (
        ("list", _list, "every monitor with its state"),
        ("remove", _remove, "delete a monitor and its history"),
        ("pause", _pause, "pause a monitor (sticky: receipts do not resume it)"),
        ("resume", _resume, "resume a paused monitor; its schedule restarts now"),
    ):
        cmd = actions.add_parser(name, help=text)
        _db(cmd)
        if name != "list":
            cmd.add_argument("name")
        cmd.set_defaults(func=func)
    _send_parser(actions)
    flush = actions.add_parser("flush", help="deliver spooled receipts now")
    _db(flush)
    flush.add_argument("--target", default=None, help="receiver URL (default: the --db file)")
    flush.add_argument("--timeout", type=float, default=3.0)
    flush.add_argument("--spool", default=None)
    flush.set_defaults(func=_flush)
    _check_parser(actions)
    serve = actions.add_parser("serve", help="run the HTTP receipt receiver")
    _db(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port, default=8787, help="0 (a free port) to 65535")
    serve.set_defaults(func=_serve)


def _db(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("OPSLADDER_MONITORS_DB", "monitors.sqlite")
    parser.add_argument("--db", default=default, help=f"the state file (default: {default})")


def _add_parser(actions: Any) -> None:
    add = actions.add_parser("add", help="create or update a monitor")
    _db(add)
    add.add_argument("name")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help="cron expression, evaluated in --tz")
    when.add_argument("--every", help="interval: seconds or 90s / 15m / 2h / 1d")
    add.add_argument("--tz", default="UTC", help="IANA timezone of the cron expression")
    add.add_argument("--grace", default="5m", help="lateness allowed (default 5m)")
    add.add_argument("--max-runtime", default=None, help="longest a started run may take")
    add.add_argument("--failure-threshold", type=int, default=1)
    add.add_argument("--recovery-threshold", type=int, default=1)
    add.set_defaults(func=_add)


def _send_parser(actions: Any) -> None:
    send = actions.add_parser("send", help="send a receipt (never fails the job)")
    _db(send)
    send.add_argument("name")
    send.add_argument("kind", choices=["start", "success", "fail"])
    send.add_argument("--run-id", default=None)
    send.add_argument("--message", default="")
    send.add_argument("--target", default=None, help="receiver URL (default: the --db file)")
    send.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    send.add_argument("--spool", default=None, help="where undelivered receipts wait")
    send.set_defaults(func=_send)


def _check_parser(actions: Any) -> None:
    check = actions.add_parser("check", help="evaluate monitors and send alerts")
    _db(check)
    check.add_argument("names", nargs="*", help="only these monitors")
    check.add_argument(
        "--sink",
        action="append",
        default=None,
        help="stderr, file:PATH, webhook:URL or command:CMD (repeatable)",
    )
    check.add_argument("--sinks-file", default=None, help="TOML/JSON file with [[sink]] tables")
    check.set_defaults(func=_check)


def _add(args: argparse.Namespace) -> int:
    fields = {
        "cron": args.cron,
        "every": args.every,
        "timezone": args.tz,
        "grace": args.grace,
        "max_runtime": args.max_runtime,
        "failure_threshold": args.failure_threshold,
        "recovery_threshold": args.recovery_threshold,
    }
    monitor = Monitor.create(args.name, **fields)
    MonitorStore(args.db).add(monitor)
    print(f"monitor {monitor.name}: {monitor.schedule().describe()}, grace {monitor.grace:g}s")
    return 0


def _iso(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def _list(args: argparse.Namespace) -> int:
    store = MonitorStore(args.db, create=False)
    for st in store.all():
        state = "paused" if st.paused else ("down" if st.alert_state == "firing" else "up")
        kind = f" ({st.alert_kind})" if st.alert_kind else ""
        last = _iso(store.last_activity(st.monitor.name))
        print(
            f"{st.monitor.name:<24} {state}{kind:<12} last receipt {last}  "
            f"{st.monitor.schedule().describe()}"
        )
    return 0


def _remove(args: argparse.Namespace) -> int:
    MonitorStore(args.db, create=False).remove(args.name)
    print(f"removed monitor {args.name}")
    return 0


def _pause(args: argparse.Namespace) -> int:
    MonitorStore(args.db, create=False).set_paused(args.name, True)
    print(f"paused {args.name}: receipts are kept but do not resume it; `resume` does")
    return 0


def _resume(args: argparse.Namespace) -> int:
    MonitorStore(args.db, create=False).set_paused(args.name, False)
    print(f"resumed {args.name}")
    return 0


def _send(args: argparse.Namespace) -> int:
    from pytest_opsladder.schedule.errors import ScheduleConfigError
    from pytest_opsladder.schedule.receipts import Receipts

    try:
        receipts = Receipts(args.target or args.db, timeout=args.timeout, spool=args.spool)
    except ScheduleConfigError as exc:  # still exit 0: a receipt never fails the job
        print(f"opsladder monitors send: receipt not sent: {exc}", file=sys.stderr)
        return 0
    run_id = args.run_id
    if args.kind == "start":
        run_id = receipts.start(args.name, run_id)
        print(run_id)
    else:
        receipts.send(args.name, args.kind, run_id, args.message)
    if receipts.last_error:
        fate = "spooled for retry" if receipts.last_delivery == "retry" else "refused, dropped"
        print(
            f"opsladder monitors send: receipt {fate} ({receipts.last_error})",
            file=sys.stderr,
        )
    return 0


def _flush(args: argparse.Namespace) -> int:
    from pytest_opsladder.schedule.receipts import Receipts

    receipts = Receipts(args.target or args.db, timeout=args.timeout, spool=args.spool)
    sent = receipts.flush()
    print(f"delivered {sent} receipt(s); {len(receipts.pending())} still waiting")
    return 0


def _check(args: argparse.Namespace) -> int:
    sinks = _sinks(args)
    try:
        result = run_check(MonitorStore(args.db, create=False), sinks, args.names or None)
    except MonitorStateError as exc:
        _alert_state_error(exc, sinks)
        raise  # exit 2: the scheduler running the check sees it fail too
    for report in result.reports:
        kind = f" ({report.alert_kind})" if report.alert_kind else ""
        new = ", ".join(report.outcomes) or "no new outcomes"
        print(f"{report.name:<24} {report.status}{kind}: {new}")
    for delivery in result.undelivered:
        print(_undelivered(delivery, _next_step(delivery)), file=sys.stderr)
    down = any(r.status == "down" for r in result.reports)
    return 1 if down or result.undelivered else 0


def _undelivered(delivery: Delivery, then: str) -> str:
    why = delivery.result.removeprefix("error: ")
    return (
        f"opsladder monitors check: alert {delivery.monitor!r} ({delivery.kind}, "
        f"{delivery.state}) was NOT delivered to {delivery.sink}: {why}. {then}"
    )


def _next_step(delivery: Delivery) -> str:
    tried = f"Attempt {delivery.attempt} of {MAX_DELIVERY_ATTEMPTS}"
    if delivery.retries_left:
        return f"{tried}; the next check retries it."
    return (
        f"{tried}: no more retries. Fix the sink, or add another (--sink file:PATH), "
        "so the next alert arrives."
    )


def _sinks(args: argparse.Namespace) -> list[Sink]:
    """Every sink asked for: the file's (always read as a file, whatever its name) and each
    --sink; stderr when neither is given."""
    from pathlib import Path

    sinks = load_sinks(Path(args.sinks_file)) if args.sinks_file else []
    if args.sink or not sinks:
        sinks += load_sinks(args.sink)
    return sinks


def _alert_state_error(exc: MonitorStateError, sinks: Sequence[Sink]) -> None:
    """A check that cannot read its state cannot see missed runs: say so on every sink, every
    time (nothing is recorded, since the state is what is broken)."""
    alert = Alert("opsladder-monitors", "state_error", Severity.CRITICAL, str(exc))
    results = deliver(alert, sinks)
    for delivery in attempts(alert.name, alert.kind, alert.state, results, 1):
        if delivery.failed:
            then = "Every check sends it again while the state file cannot be used."
            print(_undelivered(delivery, then), file=sys.stderr)


def _serve(args: argparse.Namespace) -> int:
    from pytest_opsladder.schedule.errors import ScheduleConfigError
    from pytest_opsladder.schedule.receiver import ReceiptServer

    try:
        server = ReceiptServer(MonitorStore(args.db), (args.host, args.port))
    except OSError as exc:
        raise ScheduleConfigError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. Pass --host an "
            "address of this machine (127.0.0.1 by default) and --port a free port (0 picks one)."
        ) from exc
    print(f"receiving receipts on {server.url}/ping/<monitor>/<start|success|fail>", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
