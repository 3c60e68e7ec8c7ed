"""The per-case data embedded in the HTML report, split for lazy loading (level 7).

The case table needs one small row per case; the details (trajectories, outputs) are large and
only a few are ever opened. So the rows go in as plain JSON and the details as gzip+base64
blocks the page decompresses on expand: 10,000 cases stay within the size budget and
the page is interactive before it has parsed any output text. The block is cut in chunks so
that opening a case only decompresses the 200 cases around it.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from pytest_opsladder.reports.case_reasons import case_reasons, divergence_words
from pytest_opsladder.reports.text_safety import shown_json
from pytest_opsladder.reports.verdicts import CASE_ORDER, CaseVerdict

MAX_TEXT_CHARS = 100_000  # per output in the HTML; results.json keeps the full text
MAX_RESULT_CHARS = 2_000  # per tool result string shown in a trajectory
MAX_RESULT_ITEMS = 50  # per tool result list
DETAILS_CHUNK = 200  # cases per compressed block; the page's script uses the same number
# In a <script> block only "</script" and "<!--" can end or confuse it; escaping every <, > and &
# as JSON \\u escapes rules both out and keeps the JSON identical once parsed.
_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe to place inside a <script type=application/json> block,
    its strings showing control and bidi characters as escapes once parsed."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return shown_json(text).translate(_SCRIPT_SAFE)


def ordered_cases(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Cases with regressions first (stable within a verdict), whatever order the file had."""
    rank = {v.value: r for v, r in CASE_ORDER.items()}
    return sorted(results["cases"], key=lambda case: rank.get(case.get("verdict", ""), 9))


def case_rows(
    cases: list[dict[str, Any]], metrics: list[str] | None = None
) -> list[dict[str, Any]]:
    """One small row per case for the table: what filters and sorts need, nothing more;
    deltas only of ``metrics`` (the gated ones) when given."""
    return [_row(case, metrics) for case in cases]


def _row(case: dict[str, Any], metrics: list[str] | None) -> dict[str, Any]:
    deltas = case.get("metric_deltas") or {}
    keep = deltas.keys() if metrics is None else [m for m in metrics if m in deltas]
    return {
        "id": case["case_id"],
        "verdict": case["verdict"],
        "severity": case.get("severity") or "",
        "tags": [str(t) for t in case.get("tags") or []],
        "deltas": {k: deltas[k] for k in keep if isinstance(deltas[k], int | float)},
        "why": "; ".join(case_reasons(case)[:3]),
        "divergence": divergence_words(case.get("first_divergence")),
    }


def divergence_text(divergence: Any) -> str:
    """One line: where the candidate's trajectory first left the baseline's."""
    if not isinstance(divergence, dict):
        return ""
    base = (divergence.get("baseline") or {}).get("tool", "-")
    cand = (divergence.get("candidate") or {}).get("tool", "-")
    return f"step {divergence.get('step', '?')} ({divergence.get('kind', '?')}): {base} -> {cand}"


def details_blobs(cases: list[dict[str, Any]]) -> list[str]:
    """Every case's details in table order, in chunks of DETAILS_CHUNK cases, each one
    gzip-compressed and base64-encoded: opening a case decompresses only its own chunk."""
    return [
        _pack([_details(case) for case in cases[i : i + DETAILS_CHUNK]])
        for i in range(0, len(cases), DETAILS_CHUNK)
    ]


def _pack(details: list[dict[str, Any]]) -> str:
    # undecodable bytes (lone surrogates) become U+FFFD here, control and bidi characters
    # escapes; results.json keeps them
    raw = shown_json(json.dumps(details, separators=(",", ":"), ensure_ascii=False)).encode()
    packed = gzip.compress(raw, compresslevel=4, mtime=0)  # ~3x faster than 6, ~12% larger
    return base64.b64encode(packed).decode("ascii")


def _details(case: dict[str, Any]) -> dict[str, Any]:
    return {
        "first_divergence": case.get("first_divergence"),
        "baseline": [_run(r) for r in (case.get("baseline") or {}).get("runs") or []],
        "candidate": [_run(r) for r in (case.get("candidate") or {}).get("runs") or []],
    }


def _run(run: Any) -> Any:
    """The run as recorded when it fits the page (no copy: 10,000 cases), else a cut copy."""
    if not isinstance(run, dict):
        return {}
    text, calls = run.get("output_text"), run.get("trajectory") or []
    if isinstance(text, str) and len(text) <= MAX_TEXT_CHARS and all(map(_fits, calls)):
        return run
    text = text if isinstance(text, str) else "" if text is None else json.dumps(text)
    return {
        **run,
        "output_text": text[:MAX_TEXT_CHARS],
        "output_chars": len(text),
        "trajectory": [_call(c) for c in calls if isinstance(c, dict)],
    }


def _fits(call: Any) -> bool:
    if not isinstance(call, dict):
        return False
    result = call.get("result")
    return not isinstance(result, str | list) or _bounded(result) is result


def _call(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "tool": call.get("tool"),
        "args": call.get("args"),
        "result": _bounded(call.get("result")),
        "error": call.get("error"),
    }


def _bounded(value: Any) -> Any:
    """A tool result cut to a size the page can hold; encoding each one to measure it exactly
    would cost seconds at 10,000 cases, so long strings and long lists are cut by length."""
    if isinstance(value, str) and len(value) > MAX_RESULT_CHARS:
        return value[:MAX_RESULT_CHARS] + f"... ({len(value)} characters)"
    if isinstance(value, list) and len(value) > MAX_RESULT_ITEMS:
        return [*value[:MAX_RESULT_ITEMS], f"... ({len(value)} items)"]
    return value


def verdict_counts(cases: list[dict[str, Any]]) -> dict[str, int]:
    """How many cases have each verdict, every verdict listed (zero included) for the filter."""
    counts = {v.value: 0 for v in CaseVerdict}
    for case in cases:
        counts[case["verdict"]] = counts.get(case["verdict"], 0) + 1
    return counts
