"""Sending receipts (ladder level 1): "I started", "I succeeded", "I failed", with a run id.

    receipts = Receipts("https://monitors.internal:8787")      # or a state file path
    with receipts.job("nightly-report"):
        build_report()

Sending a receipt never fails and never blocks the job: every send is bounded by ``timeout``
seconds, any error is swallowed, and the receipt is appended to a spool file and retried on the
next send (or by :meth:`Receipts.flush`). A receipt the receiver refuses for good (an unknown
monitor, a bad kind) is dropped with ``last_error`` set: retrying it could only block the spool.
A call costs at most twice ``timeout`` (its own send, then one spooled receipt that fails). The
receiver stamps receipts with its own clock.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_opsladder.observability.redaction import redact_text
from pytest_opsladder.schedule.monitors import ReceiptKind


class Delivery(StrEnum):
    """What became of a receipt: delivered, kept for a retry, or refused for good."""

    DELIVERED = "delivered"
    RETRY = "retry"  # the receiver was down, slow or busy: spooled
    REJECTED = "rejected"  # unknown monitor or bad kind: retrying cannot help, not spooled


def _permanent(exc: Exception) -> bool:
    """A refusal that a retry would only repeat (4xx from the receiver, a config error)."""
    from pytest_opsladder.exceptions import ConfigError

    if isinstance(exc, urllib.error.HTTPError):
        return 400 <= exc.code < 500 and exc.code not in (408, 429)
    return isinstance(exc, ConfigError)


def default_spool() -> Path:
    return Path(tempfile.gettempdir()) / f"opsladder-receipts-{os.getuid()}.jsonl"


class Receipts:
    """A receipt sender to an HTTP receiver (``http(s)://``) or straight into a state file."""

    def __init__(
        self,
        target: str | Path,
        *,
        timeout: float = 3.0,
        spool: str | Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.target = str(target)
        self.timeout = float(timeout)
        self.spool = Path(spool) if spool is not None else default_spool()
        self.clock = clock
        self.last_error: str | None = None
        self.last_delivery: Delivery | None = None

    # -- the three receipts ---------------------------------------------------------------
    def start(self, monitor: str, run_id: str | None = None) -> str:
        """Report a start; returns the run id to pass to success/fail (made up if not given)."""
        run_id = run_id or uuid.uuid4().hex
        self.send(monitor, ReceiptKind.START, run_id)
        return run_id

    def success(self, monitor: str, run_id: str | None = None, message: str = "") -> bool:
        return self.send(monitor, ReceiptKind.SUCCESS, run_id, message)

    def fail(self, monitor: str, run_id: str | None = None, message: str = "") -> bool:
        return self.send(monitor, ReceiptKind.FAIL, run_id, message)

    @contextlib.contextmanager
    def job(self, monitor: str, run_id: str | None = None) -> Iterator[str]:
        """start, then success, or fail with the exception's (redacted) message; re-raises."""
        rid = self.start(monitor, run_id)
        try:
            yield rid
        except BaseException as exc:
            self.fail(monitor, rid, f"{type(exc).__name__}: {exc}")
            raise
        self.success(monitor, rid)

    # -- delivery -------------------------------------------------------------------------
    def send(
        self, monitor: str, kind: ReceiptKind | str, run_id: str | None = None, message: str = ""
    ) -> bool:
        """Deliver one receipt now or spool it; True if it was delivered. Never raises."""
        receipt = {
            "monitor": monitor,
            "kind": str(kind),
            "run_id": run_id,
            "sent_at": self.clock(),
            "message": redact_text(message)[:2000],
        }
        outcome = self._deliver(receipt)
        if outcome is Delivery.DELIVERED:
            self.flush(limit=100)
        elif outcome is Delivery.RETRY:
            self._spool(receipt)
        return outcome is Delivery.DELIVERED

    def _deliver(self, receipt: dict[str, Any]) -> Delivery:
        try:
            if self.target.startswith(("http://", "https://")):
                self._post(receipt)
            else:
                self._write(receipt)
        except Exception as exc:  # a receipt must never break the job it reports on
            self.last_error = f"{type(exc).__name__}: {redact_text(str(exc))}"
            self.last_delivery = Delivery.REJECTED if _permanent(exc) else Delivery.RETRY
            return self.last_delivery
        self.last_error, self.last_delivery = None, Delivery.DELIVERED
        return Delivery.DELIVERED

    def _post(self, receipt: dict[str, Any]) -> None:
        monitor = urllib.parse.quote(receipt["monitor"], safe="")
        url = f"{self.target.rstrip('/')}/ping/{monitor}/{receipt['kind']}"
        request = urllib.request.Request(
            url, json.dumps(receipt).encode(), {"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()

    def _write(self, receipt: dict[str, Any]) -> None:
        from pytest_opsladder.schedule.errors import MonitorNotFoundError
        from pytest_opsladder.schedule.state import MonitorStore

        if not os.path.lexists(self.target):  # never create a fresh, empty state file here
            raise MonitorNotFoundError(
                f"no monitor named {receipt['monitor']!r}: the monitors state file "
                f"{self.target!r} does not exist (never created, or deleted); create it with "
                "`opsladder monitors add`.",
                monitor=receipt["monitor"],
            )
        # a corrupt or unreadable file raises MonitorStateError: the receipt is spooled
        store = MonitorStore(self.target, clock=self.clock, create=False)
        store.record_receipt(
            receipt["monitor"],
            receipt["kind"],
            receipt["run_id"],
            sent_at=receipt["sent_at"],
            message=receipt["message"],
        )

    # -- the spool ------------------------------------------------------------------------
    def _spool(self, receipt: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # a full disk must not fail the job either
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            line = (json.dumps(receipt) + "\n").encode()
            fd = os.open(self.spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)  # one write of one line: appends from processes never mix
            finally:
                os.close(fd)

    def pending(self) -> list[dict[str, Any]]:
        """Receipts waiting in the spool."""
        try:
            lines = self.spool.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def flush(self, limit: int | None = None) -> int:
        """Deliver spooled receipts in order; stops at the first failure. Returns how many."""
        claimed = self.spool.with_name(f"{self.spool.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
        try:
            os.replace(self.spool, claimed)  # take the spool; new receipts start a new one
        except OSError:
            return 0
        waiting = [json.loads(line) for line in claimed.read_text().splitlines() if line.strip()]
        claimed.unlink()
        sent = 0
        for index, receipt in enumerate(waiting):
            outcome = None if limit is not None and sent >= limit else self._deliver(receipt)
            if outcome is None or outcome is Delivery.RETRY:
                for rest in waiting[index:]:
                    self._spool(rest)
                break
            sent += outcome is Delivery.DELIVERED  # a rejected receipt is dropped, not retried
        return sent
