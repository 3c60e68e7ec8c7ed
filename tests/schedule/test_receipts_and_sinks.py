"""Receipts never fail or block the job; alert sinks; raise_alert for the drift gate."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.schedule.alerts import (
    Alert,
    Severity,
    StderrSink,
    deliver,
    load_sinks,
    raise_alert,
)
from pytest_opsladder.schedule.fixtures import MonitorKit
from pytest_opsladder.schedule.receipts import Receipts
from pytest_opsladder.schedule.receiver import ReceiptServer

Hook = Any  # tests/schedule/conftest.py's loopback server


def test_a_receipt_to_an_endpoint_that_is_down_is_spooled_not_raised(
    down_url: str, tmp_path: Path
) -> None:
    sender = Receipts(down_url, timeout=0.5, spool=tmp_path / "spool.jsonl")
    with sender.job("nightly") as run_id:
        ran = True
    assert ran
    pending = sender.pending()
    assert [(r["kind"], r["run_id"]) for r in pending] == [("start", run_id), ("success", run_id)]
    assert "URLError" in (sender.last_error or "")


def test_a_receipt_to_an_endpoint_that_answers_after_30s_gives_up_at_the_timeout(
    slow_endpoint: Hook, tmp_path: Path
) -> None:
    sender = Receipts(slow_endpoint.url, timeout=0.2, spool=tmp_path / "spool.jsonl")
    assert sender.success("nightly", "r1") is False  # returns after 0.2 s, not 30 s
    assert "timed out" in (sender.last_error or "")
    assert [r["run_id"] for r in sender.pending()] == ["r1"]


def test_spooled_receipts_are_delivered_in_order_once_the_receiver_is_back(
    opsladder_monitors: MonitorKit, down_url: str, tmp_path: Path
) -> None:
    kit = opsladder_monitors
    kit.add("nightly", every="1d")
    spool = tmp_path / "spool.jsonl"
    offline = Receipts(down_url, timeout=0.5, spool=spool)
    run_id = offline.start("nightly")
    offline.fail("nightly", run_id, "boom")
    server = ReceiptServer(kit.store, ("127.0.0.1", 0))
    server.serve_in_thread()
    try:
        online = Receipts(server.url, timeout=5, spool=spool)
        assert online.success("nightly", "next-run")  # delivers, then flushes the spool
    finally:
        server.shutdown()
        server.server_close()
    got = [(r["kind"], r["run_id"]) for r in reversed(kit.store.receipts("nightly"))]
    assert got == [("success", "next-run"), ("start", run_id), ("fail", run_id)]
    assert online.pending() == []


def test_a_receipt_refused_for_good_is_dropped_and_does_not_block_the_spool(
    opsladder_monitors: MonitorKit, down_url: str, tmp_path: Path
) -> None:
    kit = opsladder_monitors
    kit.add("real", every="1d")
    spool = tmp_path / "spool.jsonl"
    offline = Receipts(down_url, timeout=0.5, spool=spool)
    offline.success("typo-monitor")  # queued while the receiver is down
    offline.success("real", "r1")
    server = ReceiptServer(kit.store, ("127.0.0.1", 0))
    server.serve_in_thread()
    try:
        online = Receipts(server.url, timeout=5, spool=spool)
        assert online.flush() == 1  # the typo is refused (404) and dropped; r1 gets through
        assert online.success("typo-monitor") is False
        assert online.last_delivery == "rejected"
        assert "404" in (online.last_error or "")
    finally:
        server.shutdown()
        server.server_close()
    assert online.pending() == []
    assert [r["run_id"] for r in kit.store.receipts("real")] == ["r1"]


def test_the_receiver_answers_404_and_400_with_reasons(opsladder_monitors: MonitorKit) -> None:
    import urllib.error
    import urllib.request

    server = ReceiptServer(opsladder_monitors.store, ("127.0.0.1", 0))
    server.serve_in_thread()
    opsladder_monitors.add("known", every=60)
    try:
        for path, code in (("/ping/unknown/start", 404), ("/ping/known/finish", 400)):
            req = urllib.request.Request(server.url + path, b"{}", method="POST")
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(req, timeout=5)
            assert info.value.code == code
            assert "error" in json.loads(info.value.read())
    finally:
        server.shutdown()
        server.server_close()


def test_every_sink_gets_the_redacted_alert(webhook: Hook, tmp_path: Path) -> None:
    out = tmp_path / "cmd.json"
    script = (
        f"import sys, os; open({str(out)!r}, 'w')"
        ".write(sys.stdin.read() + os.environ['OPSLADDER_ALERT_KIND'])"
    )
    stream = io.StringIO()
    sinks = [
        StderrSink(stream),
        *load_sinks(
            [
                f"file:{tmp_path / 'alerts.jsonl'}",
                {"type": "webhook", "url": webhook.url + "/hook", "timeout": 5},
                {"type": "command", "argv": [sys.executable, "-c", script]},
            ]
        ),
    ]
    alert = Alert(
        "etl",
        "missed",
        Severity.CRITICAL,
        "token=abcd1234efgh missing",
        details={"args": {"api_key": "sk-abcdefghijklmnopqrstuvwxyz"}},
    )
    results = deliver(alert, sinks)
    assert set(results.values()) == {"ok"}
    for text in (
        stream.getvalue(),
        (tmp_path / "alerts.jsonl").read_text(),
        json.dumps(webhook.received),
        out.read_text(),
    ):
        assert "etl" in text
        assert "abcd1234efgh" not in text
        assert "sk-abcdef" not in text
    assert out.read_text().endswith("missed")
    assert webhook.received[0]["json"]["details"]["args"]["api_key"] == "[REDACTED]"


def test_a_failing_sink_does_not_stop_the_others_and_is_retried(
    opsladder_monitors: MonitorKit, down_url: str, webhook: Hook, tmp_path: Path
) -> None:
    from pytest_opsladder.schedule.alerts import FileSink, WebhookSink
    from pytest_opsladder.schedule.check import check_monitors

    kit = opsladder_monitors
    kit.add("etl", every="1h", grace="1m")
    kit.clock.advance(hours=2)
    broken = WebhookSink(down_url, timeout=1)
    check_monitors(kit.store, [broken, FileSink(tmp_path / "a.jsonl")])
    [row] = kit.store.alerts("etl")
    assert row["deliveries"]["results"][f"file:{tmp_path / 'a.jsonl'}"] == "ok"
    assert row["deliveries"]["results"][broken.label].startswith("error: URLError")
    broken.url = webhook.url  # the endpoint comes back (same label: the same sink)
    check_monitors(kit.store, [broken, FileSink(tmp_path / "a.jsonl")])
    assert len(webhook.received) == 1
    [row] = kit.store.alerts("etl")
    assert set(row["deliveries"]["results"].values()) == {"ok"}


def test_raise_alert_is_the_drift_gates_path_to_the_same_sinks(tmp_path: Path) -> None:
    sinks_file = tmp_path / "sinks.toml"
    sinks_file.write_text(f'[[sink]]\ntype = "file"\npath = "{tmp_path / "gate.jsonl"}"\n')
    results = raise_alert(
        "nightly-shadow",
        "critical",
        "drift gate failed: pass_rate",
        {"metric": "pass_rate", "p": 0.001},
        sinks_file,
        kind="drift",
    )
    assert list(results.values()) == ["ok"]
    [alert] = [json.loads(x) for x in (tmp_path / "gate.jsonl").read_text().splitlines()]
    assert alert["kind"] == "drift"
    assert alert["severity"] == "critical"
    assert alert["details"] == {"metric": "pass_rate", "p": 0.001}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (["pager:x"], "'pager' is not a valid sink type. Valid values are: stderr, file"),
        ([{"type": "file"}], "file needs path"),
        (["webhook:ftp://x"], "must start with http"),
    ],
)
def test_bad_sinks_say_what_and_how(config: list[object], message: str) -> None:
    from pytest_opsladder.exceptions import ConfigError

    with pytest.raises(ConfigError, match=message):
        load_sinks(config)  # type: ignore[arg-type]


def test_raise_alert_checks_the_severity() -> None:
    from pytest_opsladder.exceptions import ConfigError

    with pytest.raises(ConfigError, match="Valid values are: info, warning, critical"):
        raise_alert("x", "sev1", "m")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_torn_spool_line_is_set_aside_and_the_job_runs_and_its_receipts_arrive(
    opsladder_monitors: MonitorKit, tmp_path: Path
) -> None:
    kit = opsladder_monitors
    kit.add("nightly", every="1d")
    spool = tmp_path / "spool.jsonl"
    valid = {"monitor": "nightly", "kind": "start", "run_id": "r0", "sent_at": 1, "message": ""}
    spool.write_text(json.dumps(valid) + '\n{"monitor": "nigh')  # a crash mid-append
    ran = False
    with kit.receipts.job("nightly") as run_id:
        ran = True
    assert ran
    got = [(r["kind"], r["run_id"]) for r in reversed(kit.store.receipts("nightly"))]
    assert got == [("start", run_id), ("start", "r0"), ("success", run_id)]
    [bad] = _lines(tmp_path / "spool.jsonl.bad")
    assert bad["line"] == '{"monitor": "nigh'
    assert "unreadable JSON" in bad["reason"]
    assert sorted(p.name for p in tmp_path.glob("spool.jsonl*")) == ["spool.jsonl.bad"]


def test_a_receipt_spooled_after_a_torn_line_is_not_glued_to_it(
    down_url: str, tmp_path: Path
) -> None:
    spool = tmp_path / "spool.jsonl"
    spool.write_text('{"monitor": "nigh')
    sender = Receipts(down_url, timeout=0.5, spool=spool)
    with sender.job("nightly") as run_id:
        pass
    assert [(r["kind"], r["run_id"]) for r in sender.pending()] == [
        ("start", run_id),
        ("success", run_id),
    ]


def test_a_spool_left_claimed_by_a_crashed_flush_is_delivered_by_the_next_one(
    opsladder_monitors: MonitorKit, tmp_path: Path
) -> None:
    import subprocess

    kit = opsladder_monitors
    kit.add("nightly", every="1d")
    probe = [sys.executable, "-c", "import os; print(os.getpid())"]
    dead_pid = int(subprocess.run(probe, check=True, capture_output=True, text=True).stdout)
    left = tmp_path / f"spool.jsonl.{dead_pid}.abc123"
    receipt = {"monitor": "nightly", "kind": "fail", "run_id": "r1", "sent_at": 1, "message": "x"}
    left.write_text(json.dumps(receipt) + "\n")
    assert [r["run_id"] for r in kit.receipts.pending()] == ["r1"]
    assert kit.receipts.flush() == 1
    assert [r["run_id"] for r in kit.store.receipts("nightly")] == ["r1"]
    assert not left.exists()


def test_a_malformed_or_refused_spooled_receipt_is_set_aside_and_the_rest_flow_in_order(
    opsladder_monitors: MonitorKit, tmp_path: Path
) -> None:
    kit = opsladder_monitors
    kit.add("nightly", every="1d")
    spool = tmp_path / "spool.jsonl"
    lines = [
        {"kind": "start"},  # no monitor
        {"monitor": "nightly", "kind": "start", "run_id": "r1", "sent_at": 1, "message": ""},
        {"monitor": "typo", "kind": "start", "run_id": "r2", "sent_at": 1, "message": ""},
        {"monitor": "nightly", "kind": "success", "run_id": "r1", "sent_at": 2, "message": ""},
    ]
    spool.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert kit.receipts.flush() == 2
    got = [(r["kind"], r["run_id"]) for r in reversed(kit.store.receipts("nightly"))]
    assert got == [("start", "r1"), ("success", "r1")]
    assert kit.receipts.pending() == []
    bad = _lines(tmp_path / "spool.jsonl.bad")
    assert [json.loads(b["line"]) for b in bad] == [lines[0], lines[2]]
    assert "no monitor name" in bad[0]["reason"]
    assert "no monitor named 'typo'" in bad[1]["reason"]


@pytest.mark.parametrize(
    "target", ["monitors.internal:8787", "http//monitors.internal", "htp://host:8787", "http://"]
)
def test_a_receipt_target_that_is_not_a_url_or_a_state_file_is_refused_up_front(
    target: str, tmp_path: Path
) -> None:
    from pytest_opsladder.schedule.errors import ScheduleConfigError

    with pytest.raises(ScheduleConfigError, match="http://host:8787") as info:
        Receipts(target, spool=tmp_path / "spool.jsonl")
    assert repr(target) in str(info.value)


def test_a_state_file_in_a_missing_directory_is_refused_up_front(tmp_path: Path) -> None:
    from pytest_opsladder.schedule.errors import ScheduleConfigError

    with pytest.raises(ScheduleConfigError, match="in a directory that exists"):
        Receipts(tmp_path / "no-such-dir" / "monitors.sqlite")


def test_sink_timeouts_take_durations_and_refuse_the_rest_by_name(
    webhook: Hook, tmp_path: Path
) -> None:
    from pytest_opsladder.schedule.errors import ScheduleConfigError

    ok = raise_alert(
        "x", "info", "m", None, [{"type": "webhook", "url": webhook.url, "timeout": "5s"}]
    )
    assert list(ok.values()) == ["ok"]
    for bad in ("fast", 0, -1):
        spec = {"type": "webhook", "url": webhook.url, "timeout": bad}
        with pytest.raises(ScheduleConfigError, match=f"sink 'webhook:{webhook.url}': timeout"):
            raise_alert("x", "info", "m", None, [spec])


def test_two_webhooks_whose_tokens_mask_alike_keep_their_own_results(tmp_path: Path) -> None:
    """Two Slack-style hooks on one host differ only in their (masked) token: one answering 500
    must be reported, not overwritten by the other's "ok" (and so never retried)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(500 if "Zq8" in self.path else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/services/hooks"
        good, bad = f"{base}/Kd93hGmP2xQv7LwTn4RbYs1c", f"{base}/Zq8vNw3LkT6pRm2XyH9bCd4f"
        sinks_file = tmp_path / "sinks.toml"
        sinks_file.write_text(
            f'[[sink]]\ntype = "webhook"\nurl = "{good}"\n'
            f'[[sink]]\ntype = "webhook"\nurl = "{bad}"\n'
        )
        results = raise_alert("etl", "critical", "late", None, sinks_file)
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(v.split(":")[0] for v in results.values()) == ["error", "ok"]
    assert next(v for v in results.values() if v != "ok").startswith("error: HTTPError")
    assert "Zq8v" not in json.dumps(results)  # the tokens stay masked in the labels
    assert "Kd93" not in json.dumps(results)
