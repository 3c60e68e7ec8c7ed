"""Alerts and their sinks (ladder level 1), shared by monitors and the drift gate (level 7).

    from pytest_opsladder.schedule.alerts import raise_alert
    raise_alert("nightly-shadow", "critical", "drift gate failed", {"metric": "pass_rate"},
                [{"type": "webhook", "url": "https://hooks.example/ops"}, "stderr"])

A sink is ``stderr``, ``file`` (JSON lines appended to ``path``), ``webhook`` (JSON POSTed to
``url`` within ``timeout`` seconds) or ``command`` (``argv`` run with the alert JSON on stdin
and ``OPSLADDER_ALERT_*`` variables). Sinks are given as dicts, as ``"type:target"`` strings
(``"file:/var/log/alerts.jsonl"``), or as a TOML/JSON file with a ``sink`` list. Every alert is
redacted before any sink sees it; a failing sink never stops the others, and its error is
returned (and retried by the next ``monitors check``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from pytest_opsladder import _json
from pytest_opsladder.modes import _ChoiceEnum
from pytest_opsladder.observability.redaction import redact, redact_text
from pytest_opsladder.schedule.errors import ScheduleConfigError
from pytest_opsladder.schedule.expected import _duration_seconds


class Severity(_ChoiceEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class SinkKind(_ChoiceEnum):
    STDERR = "stderr"
    FILE = "file"
    WEBHOOK = "webhook"
    COMMAND = "command"


@dataclass(frozen=True)
class Alert:
    """One alert transition: ``firing`` or ``resolved``, for a monitor or a gate."""

    name: str
    kind: str
    severity: Severity
    message: str
    state: str = "firing"
    details: dict[str, Any] = field(default_factory=dict)
    at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The redacted JSON form every sink receives."""
        at = self.at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return {
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "severity": self.severity.value,
            "message": redact_text(self.message),
            "details": redact(self.details),
            "at": at,
        }

    def title(self) -> str:
        return f"[{self.severity.value.upper()}] {self.name} {self.kind} {self.state}"


class Sink(Protocol):
    label: str

    def send(self, payload: dict[str, Any]) -> None:
        """Deliver ``payload`` or raise; the caller records the error."""


class StderrSink:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self.label = "stderr"
        self.stream = stream

    def send(self, payload: dict[str, Any]) -> None:
        out = self.stream or sys.stderr
        out.write(
            f"opsladder alert {payload['name']} {payload['kind']} {payload['state']} "
            f"({payload['severity']}): {payload['message']}\n"
        )
        out.flush()


class FileSink:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.label = f"file:{self.path}"

    def send(self, payload: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, sort_keys=True) + "\n")


class WebhookSink:
    def __init__(self, url: str, timeout: float = 5.0, headers: Mapping[str, str] | None = None):
        from pytest_opsladder.http.scrub import shown_url

        if not url.startswith(("http://", "https://")):
            raise ScheduleConfigError(
                f"webhook url {shown_url(url)!r} must start with http:// or https://"
            )
        self.label = f"webhook:{shown_url(url)}"  # shown and stored: never the URL's secret
        self.url, self.headers = url, dict(headers or {})
        self.timeout = _sink_timeout(timeout, self.label)

    def send(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **self.headers}
        request = urllib.request.Request(self.url, body, headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()


class CommandSink:
    def __init__(self, argv: Sequence[str] | str, timeout: float = 30.0) -> None:
        self.argv = shlex.split(argv) if isinstance(argv, str) else list(argv)
        if not self.argv:
            raise ScheduleConfigError(
                "a command sink needs a command: {type='command', argv=[...]}"
            )
        self.label = f"command:{self.argv[0]}"
        self.timeout = _sink_timeout(timeout, self.label)

    def send(self, payload: dict[str, Any]) -> None:
        env = dict(os.environ)
        for key in ("name", "kind", "state", "severity", "message"):
            env[f"OPSLADDER_ALERT_{key.upper()}"] = str(payload[key])
        subprocess.run(
            self.argv,
            input=json.dumps(payload),
            text=True,
            env=env,
            timeout=self.timeout,
            check=True,
            capture_output=True,
        )


MAX_SINK_TIMEOUT_S = 300.0  # below check.CLAIM_LEASE_S: a live sender is never raced


def _sink_timeout(value: object, label: str) -> float:
    """A sink's ``timeout``: seconds or a duration (``"5s"``), more than 0, at most 300 s."""
    seconds = _duration_seconds(value)
    if seconds is None or not 0 < seconds <= MAX_SINK_TIMEOUT_S:
        raise ScheduleConfigError(
            f"sink {label!r}: timeout {value!r} is not a usable timeout; write seconds (5) or a "
            f"number with a unit (e.g. '5s', '500ms'), more than 0 and at most "
            f"{MAX_SINK_TIMEOUT_S:g}s."
        )
    return seconds


def sink_from_spec(spec: str | Mapping[str, Any]) -> Sink:
    """One sink from ``"stderr"``, ``"file:PATH"``, ``"webhook:URL"``, ``"command:CMD"``, a dict."""
    if isinstance(spec, str):
        kind, _, target = spec.partition(":")
        key = {"file": "path", "webhook": "url", "command": "argv"}.get(kind, "target")
        spec = {"type": kind, key: target} if target else {"type": kind}
    raw = dict(spec)
    kind = SinkKind(SinkKind.parse(str(raw.pop("type", "")), setting="sink type"))
    try:
        if kind is SinkKind.STDERR:
            return StderrSink()
        if kind is SinkKind.FILE:
            return FileSink(raw["path"])
        if kind is SinkKind.WEBHOOK:
            return WebhookSink(raw.pop("url"), **raw)
        return CommandSink(raw.pop("argv", raw.pop("command", "")), **raw)
    except (KeyError, TypeError) as exc:
        raise ScheduleConfigError(
            f"{kind.value} sink {spec!r} is incomplete or has an unknown key ({exc}); "
            "file needs path, webhook needs url (timeout, headers), command needs argv (timeout)."
        ) from None


SinksConfig = Sequence[str | Mapping[str, Any]] | str | Path | None


def load_sinks(config: SinksConfig) -> list[Sink]:
    """Sinks from a list of specs, a TOML/JSON file with a ``sink`` list, or None (stderr)."""
    if config is None:
        return [StderrSink()]
    if isinstance(config, Path) or (
        isinstance(config, str) and config.endswith((".toml", ".json"))
    ):
        return _distinct_labels([sink_from_spec(s) for s in _read_sinks_file(Path(config))])
    if isinstance(config, str):
        config = [config]
    return _distinct_labels([sink_from_spec(s) for s in config])


def _distinct_labels(sinks: list[Sink]) -> list[Sink]:
    """Give each sink its own label: delivery results, receipts and retries are keyed by it.

    Two webhooks whose tokens are masked alike (two Slack hooks on one host) or two commands of
    one program shared a label, and one sink's "ok" overwrote the other's failure: the failed
    delivery was never reported or retried. The second and later get " #2", " #3" (in the
    order of the configuration, so a label stays the same sink from run to run)."""
    used: set[str] = set()
    for sink in sinks:
        label, count = sink.label, 1
        while label in used:
            count += 1
            label = f"{sink.label} #{count}"
        sink.label = label
        used.add(label)
    return sinks


def _read_sinks_file(path: Path) -> list[Any]:
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ScheduleConfigError(f"cannot read sinks file {path}: {exc}") from exc
    try:
        data = _json.parse(text) if path.suffix == ".json" else tomllib.loads(text)
    except ValueError as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML (a sinks file not named .json is TOML)"
        raise ScheduleConfigError(
            f"cannot read sinks file {path}: not valid {kind}: {exc}"
        ) from exc
    except RecursionError:  # tomllib recurses per level of nesting
        raise ScheduleConfigError(
            f"cannot read sinks file {path}: nested too deep to read"
        ) from None
    sinks = data.get("sink") if isinstance(data, dict) else None
    if not isinstance(sinks, list):
        raise ScheduleConfigError(
            f"sinks file {path} has no 'sink' list; write [[sink]] tables in TOML "
            '(type = "webhook", url = "...") or {"sink": [...]} in JSON.'
        )
    return sinks


def deliver(alert: Alert, sinks: Sequence[Sink]) -> dict[str, str]:
    """Send ``alert`` to every sink; returns ``{label: "ok" | "error: ..."}``, never raises."""
    payload = alert.to_dict()
    results: dict[str, str] = {}
    for sink in _distinct_labels(list(sinks)):  # sinks built in code skip load_sinks
        try:
            sink.send(payload)
            results[sink.label] = "ok"
        except Exception as exc:  # one broken sink must not silence the others
            results[sink.label] = f"error: {type(exc).__name__}: {redact_text(str(exc))[:300]}"
    return results


def raise_alert(
    name: str,
    severity: Severity | str,
    message: str,
    details: Mapping[str, Any] | None = None,
    sinks_config: SinksConfig = None,
    *,
    kind: str = "alert",
    state: str = "firing",
) -> dict[str, str]:
    """Raise an alert outside any monitor (the drift gate's path) through the same sinks."""
    level = Severity(Severity.parse(severity, setting="alert severity"))
    alert = Alert(name, kind, level, message, state, dict(details or {}))
    return deliver(alert, load_sinks(sinks_config))
