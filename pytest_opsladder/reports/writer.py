"""Write every report of a shadow run into one directory, each file atomically (level 7).

A CI job may be cancelled mid-write and a reviewer may open the directory while a re-render is
running: each file is written to a temporary name in the same directory and renamed over the
old one, so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from pytest_opsladder._atomic import open_atomic
from pytest_opsladder.reports.errors import ReportWriteError, ResultsFileError
from pytest_opsladder.reports.results_file import check_results
from pytest_opsladder.reports.text_safety import utf8_bytes
from pytest_opsladder.secrets import redact_secrets

REPORT_FILES = ("report.html", "results.json", "summary.md", "junit.xml")
# 309 digits in a row: maybe an integer past float's range (or a long string of digits)
_LONG_DIGITS = re.compile(rb"[0-9]{309}")


def write_reports(
    results: dict[str, Any], out_dir: Path, *, copy_results: bool = True
) -> dict[str, Path]:
    """Write report.html, results.json, summary.md and junit.xml; return name -> path."""
    check_results(results)
    results = redact_secrets(results)  # a report is shared: no credential reaches it
    contents = _contents(results, copy_results)
    return {name: write_atomic(Path(out_dir) / name, data) for name, data in contents.items()}


def _contents(results: dict[str, Any], copy_results: bool) -> dict[str, bytes]:
    """Every file's bytes, before any is written. An integer past float's range fails the
    report's numbers (OverflowError, or ValueError past 4,300 digits) or would make a
    results.json that `opsladder report` refuses: a ResultsFileError names its field."""
    from pytest_opsladder.reports.ci_summaries import junit_xml, markdown_summary
    from pytest_opsladder.reports.html_report import render_report

    try:
        contents = {
            "report.html": utf8_bytes(render_report(results)),
            "summary.md": utf8_bytes(markdown_summary(results)),
            "junit.xml": junit_xml(results),
        }
        if copy_results:
            contents["results.json"] = results_json_bytes(results)
    except (OverflowError, ValueError) as exc:
        raise _huge_number(results) or exc from None
    huge = _LONG_DIGITS.search(contents.get("results.json", b"")) and _huge_number(results)
    if huge:
        raise huge
    return contents


def _huge_number(results: dict[str, Any]) -> ResultsFileError | None:
    """The error naming the first integer past float's range in ``results``, if any. Only
    looked for when there is a sign of one: walking every value costs a second at 10,000
    cases."""
    stack: list[tuple[str, Any]] = [("", results)]
    while stack:
        at, value = stack.pop()
        if isinstance(value, dict):
            stack += [(f"{at}.{k}" if at else str(k), v) for k, v in reversed(value.items())]
        elif isinstance(value, list):
            stack += [(f"{at}[{i}]", v) for i, v in reversed(list(enumerate(value)))]
        elif type(value) is int and abs(value) > sys.float_info.max:
            return ResultsFileError(
                f"'<results dict>': key {at!r} is an integer of about {_digits(value):,} digits, "
                "larger than any number a report can show (a float's range ends near 1.8e308). "
                "Fix the metric or field that produced it, or store it as a float or a string.",
                key=at,
            )
    return None


def results_json_bytes(results: dict[str, Any]) -> bytes:
    """The results as given, as JSON; lone surrogates (undecodable bytes) kept as \\u escapes."""
    # no indent: json's C encoder only runs without one (10x faster on a 50 MB results file)
    try:
        return json.dumps(results, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(results).encode("ascii")


def _digits(value: int) -> int:
    return int(value.bit_length() * math.log10(2)) + 1  # str() refuses past 4,300 digits


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
