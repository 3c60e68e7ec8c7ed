"""Write every report of a shadow run into one directory, each file atomically (level 7).

A CI job may be cancelled mid-write and a reviewer may open the directory while a re-render is
running: each file is written to a temporary name in the same directory and renamed over the
old one, so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_opsladder._atomic import open_atomic
from pytest_opsladder.reports.errors import ReportWriteError
from pytest_opsladder.reports.results_file import check_results
from pytest_opsladder.reports.text_safety import utf8_bytes
from pytest_opsladder.secrets import redact_secrets

REPORT_FILES = ("report.html", "results.json", "summary.md", "junit.xml")


def write_reports(
    results: dict[str, Any], out_dir: Path, *, copy_results: bool = True
) -> dict[str, Path]:
    """Write report.html, results.json, summary.md and junit.xml; return name -> path."""
    from pytest_opsladder.reports.ci_summaries import junit_xml, markdown_summary
    from pytest_opsladder.reports.html_report import render_report

    check_results(results)
    results = redact_secrets(results)  # a report is shared: no credential reaches it
    out_dir = Path(out_dir)
    contents = {
        "report.html": utf8_bytes(render_report(results)),
        "summary.md": utf8_bytes(markdown_summary(results)),
        "junit.xml": junit_xml(results),
    }
    if copy_results:
        contents["results.json"] = results_json_bytes(results)
    return {name: write_atomic(out_dir / name, data) for name, data in contents.items()}


def results_json_bytes(results: dict[str, Any]) -> bytes:
    """The results as given, as JSON; lone surrogates (undecodable bytes) kept as \\u escapes."""
    # no indent: json's C encoder only runs without one (10x faster on a 50 MB results file)
    try:
        return json.dumps(results, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(results).encode("ascii")


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    try:
        target = open_atomic(path, binary=True, mode=0o644)  # a report is read by others
    except OSError as exc:
        raise ReportWriteError(
            f"cannot write reports into {str(path.parent)!r}: {exc.strerror or exc}. "
            "Choose a writable directory (opsladder report -o DIR)."
        ) from exc
    try:
        with target as handle:
            handle.write(data)
    except OSError as exc:
        raise ReportWriteError(
            f"cannot write {str(path)!r}: {exc.strerror or exc}. Free disk space or choose "
            "another directory (opsladder report -o DIR)."
        ) from exc
    return path
