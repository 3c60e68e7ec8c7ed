"""Ladder level 3, observability: redaction, step context, JSON lines, metrics, OpenTelemetry.

OpenTelemetry is an optional extra (``pytest-opsladder[otel]``), imported only by
:mod:`pytest_opsladder.observability.otel`.
"""

from __future__ import annotations

from pytest_opsladder.observability.context import current_context, current_step, step
from pytest_opsladder.observability.errors import ObservabilityConfigError
from pytest_opsladder.observability.events import (
    ErrorCode,
    error_code,
    record_error,
    record_retry,
    retrying,
)
from pytest_opsladder.observability.export import load_runs, records, write_jsonl
from pytest_opsladder.observability.metrics import Metrics
from pytest_opsladder.observability.redaction import (
    RedactingFilter,
    redact,
    redact_text,
    register_secret_key,
    register_secret_pattern,
)

__all__ = [
    "ErrorCode",
    "Metrics",
    "ObservabilityConfigError",
    "RedactingFilter",
    "current_context",
    "current_step",
    "error_code",
    "load_runs",
    "record_error",
    "record_retry",
    "records",
    "redact",
    "redact_text",
    "register_secret_key",
    "register_secret_pattern",
    "retrying",
    "step",
    "write_jsonl",
]
