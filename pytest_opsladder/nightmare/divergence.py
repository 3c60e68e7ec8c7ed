"""Promoting a shadow divergence (a case of a results JSON) into a nightmare case (level 7).

The results JSON (docs/results-schema.md) names the case and where the candidate's tool
trajectory first left the baseline's; it does not carry the input. The input and the baseline
cassette come from the baseline run's cassette: the nightmare set's own
(``cassettes/<case>/<baseline>.json``) or the one given with ``--cassette``. The new case pins
the baseline trajectory (``tool_trajectory: strict``), so the divergence fails it until fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_opsladder import _json
from pytest_opsladder.cassette import files
from pytest_opsladder.cassette.naming import cassette_path, safe_stem
from pytest_opsladder.nightmare.curate import build_case, write_case_with_cassette
from pytest_opsladder.nightmare.errors import CurationError

RESULTS_FORMAT = "pytest-opsladder/results"
RESULTS_VERSIONS = (1,)


def load_results(path: Path) -> dict[str, Any]:
    """A results JSON, refusing another format or an unknown schema version by name."""
    try:
        data = _json.parse(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CurationError(f"cannot read results JSON {path}: {exc}.", path=path) from None
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise CurationError(
            f"{path} is not a results JSON (format {RESULTS_FORMAT!r}); pass the "
            "reports/results.json a shadow run or `opsladder merge` wrote.",
            path=path,
        )
    if data.get("schema_version") not in RESULTS_VERSIONS:
        raise CurationError(
            f"{path} has results schema_version {data.get('schema_version')!r}; this release "
            f"reads {', '.join(map(str, RESULTS_VERSIONS))}. Upgrade pytest-opsladder.",
            path=path,
        )
    return data


def find_result_case(results: dict[str, Any], case_id: str, path: Path) -> dict[str, Any]:
    for case in results.get("cases") or []:
        if case.get("case_id") == case_id:
            return dict(case)
    known = ", ".join(str(c.get("case_id")) for c in results.get("cases") or [])[:300]
    raise CurationError(f"{path} has no case {case_id!r}; its cases: {known}.", path=path)


def promote_divergence(
    root: Path,
    results_file: Path,
    source_case: str,
    *,
    reason: str = "",
    case_id: str | None = None,
    cassette: Path | None = None,
    allow_duplicate: bool = False,
    **case_fields: Any,
) -> Path:
    """Write a case pinning the baseline trajectory of ``source_case``'s diverging run."""
    results = load_results(results_file)
    entry = find_result_case(results, source_case, results_file)
    baseline_name = str((results.get("baseline") or {}).get("name") or "baseline")
    baseline_run = _baseline_cassette(root, source_case, baseline_name, cassette)
    candidate = _first_run(entry, "candidate")
    new_id = case_id or safe_stem(f"{source_case}-div-{str(candidate.get('run_id'))[:8]}")
    pinned = {"tool_trajectory": {"mode": "strict", "calls": _trajectory(entry)}}
    extra_checks = list(case_fields.pop("checks", None) or [])
    raw = build_case(
        new_id,
        baseline_run["case"].get("input"),
        checks=[pinned, *extra_checks],
        provenance=_provenance(results, results_file, entry, candidate, reason),
        **case_fields,
    )
    return write_case_with_cassette(
        root, raw, baseline_run, baseline_name, allow_duplicate=allow_duplicate
    )


def _baseline_cassette(
    root: Path, case_id: str, baseline: str, given: Path | None
) -> dict[str, Any]:
    path = given or cassette_path(root / "cassettes", case_id, baseline)
    if not path.exists():
        raise CurationError(
            f"no baseline cassette for case {case_id!r} at {path}: the results JSON does not "
            "carry the input. Pass the baseline run's cassette with --cassette PATH.",
            path=path,
        )
    run: dict[str, Any] = files.load_envelope(path)["run"]
    return run


def _first_run(entry: dict[str, Any], role: str) -> dict[str, Any]:
    runs = (entry.get(role) or {}).get("runs") or [{}]
    return dict(runs[0])


def _trajectory(entry: dict[str, Any]) -> list[str]:
    steps = _first_run(entry, "baseline").get("trajectory") or []
    return [str(step.get("tool")) for step in steps]


def _provenance(
    results: dict[str, Any],
    path: Path,
    entry: dict[str, Any],
    candidate: dict[str, Any],
    reason: str,
) -> dict[str, Any]:
    return {
        "source": "shadow",
        "source_run": candidate.get("run_id"),
        "source_file": str(path),
        "source_case": entry.get("case_id"),
        "candidate": (results.get("candidate") or {}).get("name"),
        "date": str(results.get("created_at") or "")[:10],
        "reason": reason or describe_divergence(entry),
    }


def describe_divergence(entry: dict[str, Any]) -> str:
    div = entry.get("first_divergence")
    if not div:
        return f"shadow verdict {entry.get('verdict')!r}"
    base = (div.get("baseline") or {}).get("tool")
    cand = (div.get("candidate") or {}).get("tool")
    return f"shadow divergence at step {div.get('step')} ({div.get('kind')}): {base} -> {cand}"
