"""Option and ini names, kept as constants that code and tests import (no pytest import here)."""

from __future__ import annotations

GROUP = "opsladder"

OPT_MODE = "--opsladder-mode"
OPT_RECORD_MODE = "--opsladder-record-mode"
OPT_SHADOW = "--opsladder-shadow"
OPT_VARIANT = "--opsladder-variant"
OPT_CASSETTE_DIR = "--opsladder-cassette-dir"
OPT_NIGHTMARE_DIR = "--opsladder-nightmare-dir"
OPT_CANDIDATE = "--opsladder-candidate"
OPT_EPOCHS = "--opsladder-epochs"
OPT_CONCURRENCY = "--opsladder-concurrency"
OPT_DIVERGENCE = "--opsladder-divergence"
OPT_REPORT_DIR = "--opsladder-report-dir"
OPT_GATE_ALERT = "--opsladder-gate-alert"
OPT_SHARD = "--opsladder-shard"

INI_MODE = "opsladder_mode"
INI_RECORD_MODE = "opsladder_record_mode"
INI_BASELINE = "opsladder_baseline"
INI_CASSETTE_DIR = "opsladder_cassette_dir"
INI_NIGHTMARE_DIR = "opsladder_nightmare_dir"
INI_THREAD_CONTEXT = "opsladder_thread_context"
INI_CANDIDATE = "opsladder_candidate"
INI_EPOCHS = "opsladder_epochs"
INI_CONCURRENCY = "opsladder_concurrency"
INI_DIVERGENCE = "opsladder_divergence"
INI_REPORT_DIR = "opsladder_report_dir"
INI_GATE_ALERT = "opsladder_gate_alert"

MARKER = "opsladder"
MARKER_HELP = (
    "opsladder(case=None, variant=None): capture this test's agent run as a cassette and replay "
    "it offline (case: the case id, default the test id; variant: run under this variant)."
)

OPT_FAIL_ON_INCONCLUSIVE = "--opsladder-fail-on-inconclusive"
INI_FAIL_ON_INCONCLUSIVE = "opsladder_fail_on_inconclusive"
