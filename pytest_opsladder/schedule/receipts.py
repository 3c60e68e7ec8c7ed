"""Sending receipts (ladder level 1): "I started", "I succeeded", "I failed", with a run id.

    receipts = Receipts("https://monitors.internal:8787")      # or a state file path
    with receipts.job("nightly-report"):
        build_report()

Sending a receipt never fails and never blocks the job: every send is bounded by ``timeout``
seconds, any error is swallowed, and the receipt is appended to a spool file and retried on the
next send (or by :meth:`Receipts.flush`). A receipt the receiver refuses for good (an unknown
monitor, a bad kind) is not retried: it could only block the spool. Sent directly it is dropped
with ``last_error`` set; from the spool it is set aside in ``<spool>.bad``, like a spool line
that is not a receipt (torn by a crash mid-append): nothing in the spool is deleted.
A call costs at most twice ``timeout`` (its own send, then one spooled receipt that fails). The
receiver stamps receipts with its own clock.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
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
from pytest_opsladder.schedule.spool_path import checked_spool


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


_HOST_PORT = re.compile(r"[\w.-]+:\d+(/.*)?")  # monitors.internal:8787 (no scheme)
_SCHEME_TYPO = re.compile(r"[a-z][a-z0-9+.-]*:/|[a-z]+//|https?:[^/]", re.IGNORECASE)


def _check_target(target: str | Path) -> str:
    """An http(s) URL, or a state-file path (its directory must exist); refuses look-alikes."""
    from pytest_opsladder.schedule.errors import ScheduleConfigError

    text = str(target)
    if isinstance(target, str) and text.lower().startswith(("http://", "https://")):
        if urllib.parse.urlsplit(text).hostname:
            return text
        problem = "is a URL without a host"
    elif isinstance(target, str) and (_HOST_PORT.fullmatch(text) or _SCHEME_TYPO.match(text)):
        problem = "looks like a receiver address with a missing or mistyped scheme"
    elif not text.strip() or not Path(text).parent.is_dir():
        problem = "is neither a URL nor a path in an existing directory"
    else:
        return text
    raise ScheduleConfigError(
        f"receipt target {text!r} {problem}; give the receiver's URL with its scheme "
        "(http://host:8787 or https://host) or the path of the monitors state file "
        "(monitors.sqlite, in a directory that exists)."
    )


def default_spool() -> Path:
    return Path(tempfile.gettempdir()) / f"opsladder-receipts-{os.getuid()}.jsonl"


class Receipts:
    """A receipt sender to an HTTP receiver (``http(s)://``) or straight into a state file.

    A target that is neither (``monitors.internal:8787``, ``http//host``, a path in a directory
    that does not exist) raises :class:`ScheduleConfigError` here, before any job runs.
    """

    def __init__(
        self,
        target: str | Path,
        *,
        timeout: float = 3.0,
        spool: str | Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.target = _check_target(target)
        self.timeout = float(timeout)
        self.spool = checked_spool(Path(spool) if spool is not None else default_spool())
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
            if self.target.lower().startswith(("http://", "https://")):
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
    @property
    def set_aside_path(self) -> Path:
        """Where spooled receipts that can never be delivered are kept, one JSON line each."""
        return self.spool.with_name(f"{self.spool.name}.bad")

    def _spool(self, receipt: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # a full disk must not fail the job either
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            line = (json.dumps(receipt) + "\n").encode()
            fd = os.open(self.spool, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a torn last line (a crash mid-append) stays its own
                os.write(fd, line)  # one write of one line: appends from processes never mix
            finally:
                os.close(fd)

    def _set_aside(self, line: bytes, reason: str) -> None:
        """Keep a spooled line that can never be delivered, with why, out of the spool's way."""
        record = {
            "reason": reason,
            "line": line.decode("utf-8", "backslashreplace"),
            "set_aside_at": self.clock(),
        }
        self.last_error = f"spooled receipt set aside in {self.set_aside_path}: {reason}"
        with contextlib.suppress(OSError):
            fd = os.open(self.set_aside_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (json.dumps(record) + "\n").encode())
            finally:
                os.close(fd)

    def _orphans(self) -> list[Path]:
        """Spools claimed by a flush whose process died before it finished (oldest first)."""
        pattern = re.compile(rf"{re.escape(self.spool.name)}\.(\d+)\.[0-9a-f]{{6}}")
        found: list[tuple[float, Path]] = []
        with contextlib.suppress(OSError):
            for path in self.spool.parent.iterdir():
                match = pattern.fullmatch(path.name)
                if match and not _alive(int(match.group(1))):
                    with contextlib.suppress(OSError):
                        found.append((path.stat().st_mtime, path))
        return [path for _, path in sorted(found)]

    def _claimed_files(self) -> list[Path]:
        return [*self._orphans(), self.spool]

    def pending(self) -> list[dict[str, Any]]:
        """Receipts waiting in the spool (an unreadable line is not one: flush sets it aside)."""
        waiting = []
        for path in self._claimed_files():
            with contextlib.suppress(OSError):
                for line in path.read_bytes().split(b"\n"):
                    receipt, _ = _parse(line)
                    if receipt is not None:
                        waiting.append(receipt)
        return waiting

    def flush(self, limit: int | None = None) -> int:
        """Deliver spooled receipts in order; stops at the first failure. Returns how many.

        A line that is not a receipt (torn by a crash mid-append, or malformed) and a receipt
        refused for good are set aside in :attr:`set_aside_path`, so the rest keep flowing.
        A spool claimed by a flush that crashed is delivered first, by the next flush.
        """
        sent, stop = 0, False
        for source in self._claimed_files():
            claimed = self.spool.with_name(
                f"{self.spool.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
            )
            try:
                os.replace(source, claimed)  # take it; new receipts start a new spool
                lines = claimed.read_bytes().split(b"\n")
            except OSError:
                continue  # gone (another flush took it) or unreadable: left for a later flush
            for line in lines:
                if not line.strip():
                    continue
                receipt, problem = _parse(line)
                if receipt is None:
                    self._set_aside(line, problem)
                    continue
                if stop or (limit is not None and sent >= limit):
                    stop = True
                    self._spool(receipt)
                    continue
                outcome = self._deliver(receipt)
                if outcome is Delivery.RETRY:
                    stop = True
                    self._spool(receipt)
                elif outcome is Delivery.REJECTED:
                    self._set_aside(line, self.last_error or "refused")
                else:
                    sent += 1
            with contextlib.suppress(OSError):
                claimed.unlink()
        return sent


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True  # this process's own flush, running in another thread
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists (owned by someone else)
    return True


def _parse(line: bytes) -> tuple[dict[str, Any] | None, str]:
    """A spooled receipt from one line, or None and why it is not one."""
    if not line.strip():
        return None, "an empty line"
    try:
        receipt = json.loads(line)
    except (ValueError, RecursionError) as exc:  # torn by a crash mid-append, or not UTF-8
        return None, f"not a receipt (unreadable JSON: {exc})"
    if not isinstance(receipt, dict):
        return None, "not a receipt (not a JSON object)"
    problems = []
    if not isinstance(receipt.get("monitor"), str) or not receipt["monitor"]:
        problems.append("no monitor name")
    if receipt.get("kind") not in {k.value for k in ReceiptKind}:
        problems.append(f"kind {receipt.get('kind')!r} is not start, success or fail")
    if not isinstance(receipt.get("run_id"), str | None):
        problems.append("run_id is not a string")
    sent_at = receipt.setdefault("sent_at", None)
    if sent_at is not None and (isinstance(sent_at, bool) or not isinstance(sent_at, int | float)):
        problems.append("sent_at is not a number")
    if not isinstance(receipt.setdefault("message", ""), str):
        problems.append("message is not a string")
    receipt.setdefault("run_id", None)
    if problems:
        return None, "not a receipt (" + "; ".join(problems) + ")"
    return receipt, ""
