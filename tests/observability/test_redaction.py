"""Secrets in nested tool arguments and exception messages are redacted in every sink."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder import tool
from pytest_opsladder.observability import (
    Metrics,
    RedactingFilter,
    record_error,
    redact,
    redact_text,
    register_secret_pattern,
)
from pytest_opsladder.observability.fixtures import OtelKit, TelemetryKit
from pytest_opsladder.observability.otel import export_run

OPENAI = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0k1L2"
AWS = "AKIA" + "ABCDEFGHIJKLMNOP"
PASSWORD = "correct-horse-battery"
SECRETS = (OPENAI, AWS, PASSWORD, "ghp_" + "x" * 36)


@tool
def call_api(request: dict[str, object]) -> str:
    raise PermissionError(f"401 for key {OPENAI} (aws {AWS})")


def make_run(kit: TelemetryKit) -> None:
    nested = {
        "endpoint": "https://api",
        "auth": {"headers": {"X-Api-Key": OPENAI}, "basic": {"user": "bob", "password": PASSWORD}},
        "items": [{"note": f"token={'ghp_' + 'x' * 36}"}, AWS],
    }
    with pytest.raises(PermissionError):
        call_api(nested)
    try:
        raise RuntimeError(f"db login failed: postgres://app:{PASSWORD}@db:5432/x")
    except RuntimeError as exc:
        record_error(exc, "db")
    kit.run.fail(RuntimeError(f"fatal with {OPENAI}"))


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_redact_walks_nested_structures_and_keeps_non_secrets() -> None:
    out = redact({"a": [{"api_key": "abc123456"}, {"prompt_tokens": 12, "text": f"use {OPENAI}"}]})
    assert out == {
        "a": [{"api_key": "[REDACTED]"}, {"prompt_tokens": 12, "text": "use [REDACTED]"}]
    }


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {OPENAI[3:]}",
        "password: hunter2hunter2",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
        "https://user:s3cretpw@host/path",
        "xoxb-1234567890-abcdefghij",
        "sk_live_" + "a" * 24,
        "hf_" + "b" * 34,
        "AIza" + "c" * 35,
    ],
)
def test_each_default_pattern_masks_the_secret(text: str) -> None:
    assert "[REDACTED]" in redact_text(text)


def test_a_registered_pattern_applies_everywhere() -> None:
    remove = register_secret_pattern("acme_ticket", r"ACME-[0-9]{8}")
    try:
        assert redact_text("see ACME-12345678") == "see [REDACTED]"
        assert redact({"nested": ["ACME-12345678"]}) == {"nested": ["[REDACTED]"]}
    finally:
        remove()
    assert redact_text("see ACME-12345678") == "see ACME-12345678"


def test_jsonl_export_is_redacted(opsladder_telemetry: TelemetryKit) -> None:
    make_run(opsladder_telemetry)
    text = json.dumps(opsladder_telemetry.lines())
    assert_clean(text)
    assert "[REDACTED]" in text
    assert "bob" in text


def test_metrics_never_carry_arguments(opsladder_telemetry: TelemetryKit) -> None:
    make_run(opsladder_telemetry)
    metrics = Metrics().add(opsladder_telemetry.run)
    assert_clean(json.dumps(metrics.to_dict()) + metrics.to_prometheus())


def test_otel_spans_are_redacted_even_with_content_capture(
    opsladder_telemetry: TelemetryKit, opsladder_otel: OtelKit
) -> None:
    make_run(opsladder_telemetry)
    export_run(opsladder_telemetry.run, opsladder_otel.tracer_provider, capture_content=True)
    spans = opsladder_otel.spans.get_finished_spans()
    dumped = "".join(span.to_json() for span in spans)
    assert "execute_tool call_api" in dumped
    assert "[REDACTED]" in dumped
    assert_clean(dumped)


def test_the_logging_filter_redacts_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("opsladder-test-redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"bad key {OPENAI}")
        except ValueError:
            logger.error("calling with %s and password=%s", AWS, PASSWORD, exc_info=True)
    finally:
        logger.removeHandler(handler)
    assert_clean(stream.getvalue())
    assert "ValueError: bad key [REDACTED]" in stream.getvalue()


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("connecting with %(password)s", {"password": "hunter2hunter2"}),
        ("cfg %s", {"db": {"secret": "hunter2hunter2"}}),
        ("calls %s then %s", ([{"api_key": "hunter2hunter2"}], "done")),
        ("pod env %s", {"env": [{"name": "DB_PASSWORD", "value": "hunter2hunter2"}]}),
        ("tags %s", ([{"Key": "client_secret", "Value": "hunter2hunter2"}],)),
        ("cache key %s", "user_ghp_hunter2hunter2hunter2hunter2hunter2"),
    ],
)
def test_the_logging_filter_redacts_values_named_by_their_keys(message: str, args: Any) -> None:
    """Formatting first lost the key that names a value (``%(password)s``): the arguments are
    redacted by their keys before the message is formatted."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("opsladder-test-redaction-args")
    logger.addHandler(handler)
    try:
        logger.warning(message, *(args if isinstance(args, tuple) else (args,)))
    finally:
        logger.removeHandler(handler)
    assert "hunter2hunter2" not in stream.getvalue()
    assert "[REDACTED]" in stream.getvalue()


def test_the_cli_export_of_a_cassette_is_redacted(
    opsladder_telemetry: TelemetryKit, tmp_path: Path
) -> None:
    from pytest_opsladder.cassette import files
    from pytest_opsladder.cli import main

    make_run(opsladder_telemetry)
    # written as a cassette recorded before the secret scanner (files.save now refuses it)
    path = tmp_path / "run.json"
    files.atomic_write_text(path, files.dumps(opsladder_telemetry.run))
    assert main(["events", "jsonl", str(tmp_path), "-o", str(tmp_path / "out.jsonl")]) == 0
    text = (tmp_path / "out.jsonl").read_text()
    assert '"kind": "tool_call"' in text
    assert_clean(text)
