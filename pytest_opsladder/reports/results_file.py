"""Read and check a results JSON (docs/results-schema.md) before any report is drawn (level 7).

The producer (shadow run, ``opsladder merge``) is versioned separately from the reader, so the
reader refuses a ``schema_version`` it does not know instead of drawing a wrong report. Only the
keys the reports rely on are required; everything else is optional and shown as "n/a".
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from pytest_opsladder import _json
from pytest_opsladder.reports.errors import ResultsFileError, ResultsSchemaError
from pytest_opsladder.reports.results_shape import check_shape
from pytest_opsladder.reports.verdicts import CaseVerdict, GateVerdict, MetricVerdict

RESULTS_FORMAT = "pytest-opsladder/results"
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1,)
_REQUIRED_TOP: dict[str, type | tuple[type, ...]] = {
    "alpha": (int, float),
    "verdict": str,
    "metrics": list,
    "cases": list,
}
# Optional keys the reports read into: absent or null shows "n/a"; any other type is refused
# here, naming the key, rather than failing inside a template.
_OPTIONAL_TOP: dict[str, type | tuple[type, ...]] = {
    "verdict_reason": str,
    "baseline": dict,
    "candidate": dict,
    "provenance": dict,
    "epochs": dict,
    "live_calls": dict,
    "distributions": dict,
    "aa_noise_floor": dict,
    "cases_skipped": dict,
    "diagnostics": list,
    "cases_missing_baseline": list,
    "cases_missing_candidate": list,
    "unchanged_metrics": list,
    "regressed_cases": list,
    "candidate_replayed": list,
    "unpriced_models": list,
}
_OPTIONAL_CASE: dict[str, type | tuple[type, ...]] = {
    "baseline": dict,
    "candidate": dict,
    "metric_deltas": dict,
    "first_divergence": dict,
    "tags": list,
    "severity": str,
}


def load_results(path: Path | str) -> dict[str, Any]:
    """The checked results dict read from ``path``; raises ResultsFileError naming the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ResultsFileError(
            f"cannot read results file {str(path)!r}: {exc.strerror or exc}. Pass the path of a "
            "results.json written by a shadow run or `opsladder merge`.",
            path=path,
        ) from exc
    return check_results(_parse(raw, path), path)


def _parse(raw: bytes, path: Path) -> Any:
    # an integer past float's range (309+ digits) breaks every number the reports format; only
    # a file holding such a run of digits is read with the (slower) integer check
    options = {"parse_int": _float_sized_int} if _LONG_DIGITS.search(raw) else {}
    try:
        # surrogateescape keeps undecodable bytes, strict=False raw control characters:
        # a reviewer sees them replaced rather than no report at all
        return _json.parse(raw.decode("utf-8", errors="surrogateescape"), strict=False, **options)
    except _HugeNumberError as exc:
        raise ResultsFileError(
            f"{str(path)!r} holds the integer {exc.args[0][:20]}... ({len(exc.args[0])} digits), "
            "larger than any number a report can show; a results file never holds one, so this "
            "one was edited by hand: re-run `opsladder merge` to regenerate it.",
            path=path,
        ) from None
    except json.JSONDecodeError as exc:
        raise ResultsFileError(
            f"{str(path)!r} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            "A results file is written atomically, so this one was cut or edited by hand; "
            "re-run `opsladder merge` to regenerate it.",
            path=path,
            key=f"line {exc.lineno}",
        ) from exc


_LONG_DIGITS = re.compile(rb"[0-9]{309}")


class _HugeNumberError(ValueError):
    """An integer literal beyond float's range (its text is the argument)."""


def _float_sized_int(text: str) -> int:
    if len(text.lstrip("-")) > 308 and abs(int(text)) > sys.float_info.max:
        raise _HugeNumberError(text)
    return int(text)


def check_results(results: Any, path: Path | str | None = None) -> dict[str, Any]:
    """``results`` itself once its format, version and the keys the reports need are right."""
    where = str(path) if path is not None else "<results dict>"
    if not isinstance(results, dict):
        raise ResultsFileError(
            f"{where!r} holds a JSON {type(results).__name__}, not an object; a results file "
            f"is an object with format {RESULTS_FORMAT!r}.",
            path=path,
        )
    _check_version(results, where, path)
    _check_top_keys(results, where, path)
    GateVerdict.parse(results["verdict"], where="verdict", path=path)
    _check_entries(results, where, path)
    return results


def _check_version(results: dict[str, Any], where: str, path: Path | str | None) -> None:
    fmt = results.get("format")
    if fmt != RESULTS_FORMAT:
        raise ResultsFileError(
            f"{where!r} has format {fmt!r}, expected {RESULTS_FORMAT!r}: this is not a "
            "pytest-opsladder results file (key 'format').",
            path=path,
            key="format",
        )
    version = results.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS or isinstance(version, bool):
        supported = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
        raise ResultsSchemaError(
            f"{where!r} has schema_version {version!r}; this release of pytest-opsladder reads "
            f"schema version(s) {supported}. Upgrade pytest-opsladder to read newer results, "
            "or re-run `opsladder merge` with this release to rewrite older ones.",
            path=path,
            found=version,
            supported=SUPPORTED_SCHEMA_VERSIONS,
        )


def _check_top_keys(results: dict[str, Any], where: str, path: Path | str | None) -> None:
    for key, kind in _REQUIRED_TOP.items():
        if not isinstance(results.get(key), kind) or isinstance(results.get(key), bool):
            raise ResultsFileError(
                f"{where!r}: key {key!r} is {results.get(key)!r}; it must be "
                f"{_kind_name(kind)} (see docs/results-schema.md).",
                path=path,
                key=key,
            )


def _check_optional(
    entry: dict[str, Any],
    kinds: dict[str, type | tuple[type, ...]],
    at: str,
    where: str,
    path: Path | str | None,
) -> None:
    for key, kind in kinds.items():
        value = entry.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise ResultsFileError(
                f"{where!r}: key {at + key!r} is {_short(value)}; it must be "
                f"{_kind_name(kind)} or absent (see docs/results-schema.md). Re-run "
                "`opsladder merge` to regenerate the file, or remove the key.",
                path=path,
                key=f"{at}{key}",
            )


def _check_entries(results: dict[str, Any], where: str, path: Path | str | None) -> None:
    _check_optional(results, _OPTIONAL_TOP, "", where, path)
    check_shape(results, where, path)
    for i, metric in enumerate(results["metrics"]):
        _require_name(metric, "name", f"metrics[{i}]", where, path)
        verdict = metric.get("verdict", "not_gated")
        MetricVerdict.parse(verdict, where=f"metrics[{i}].verdict", path=path)
    for i, case in enumerate(results["cases"]):
        _require_name(case, "case_id", f"cases[{i}]", where, path)
        _check_optional(case, _OPTIONAL_CASE, f"cases[{i}].", where, path)
        CaseVerdict.parse(case.get("verdict"), where=f"cases[{i}].verdict", path=path)


def _require_name(entry: Any, key: str, at: str, where: str, path: Path | str | None) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
        raise ResultsFileError(
            f"{where!r}: {at} must be an object with a string {key!r}; found {_short(entry)}.",
            path=path,
            key=at,
        )


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"int": "a number", "float": "a number", "str": "a string", "list": "a list"}
    names["dict"] = "an object"
    return " or ".join(sorted({names.get(k.__name__, k.__name__) for k in kinds}))


def _short(value: Any, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
