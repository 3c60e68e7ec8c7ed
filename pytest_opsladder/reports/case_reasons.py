"""Why one case changed, in words a reviewer reads first (level 7, continuous evaluation).

A case regressed or improved because a check or an assertion flipped, and usually because the
candidate did something else at some step. This module turns one case of the results into
three short texts: the failed checks or assertion messages, the first divergence in words, and
a short diff of the outputs. The report's first screen, ``summary.md`` and the review page all
use it, so the three say the same thing the same way.

Fields read from each run summary (all optional, so results from older or newer producers
render): ``failed_checks`` (strings, or ``{"check", "failure"}`` dicts), ``failure_message`` /
``failure`` / ``message`` / ``longrepr`` (the test's assertion message), ``outcome``, ``error``
(``{"type", "message"}``), ``passed``, ``output_text``.
"""

from __future__ import annotations

import json
import re
from difflib import SequenceMatcher
from typing import Any

MESSAGE_KEYS = ("failure_message", "failure", "message", "longrepr")
MAX_REASON_CHARS = 240  # one reason line; the full text is in the case's details
MAX_VALUE_CHARS = 40  # one argument value in the divergence sentence
MAX_DIFF_TOKENS = 4_000  # per side: longer outputs are diffed on their first tokens
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def _runs(case: dict[str, Any], side: str) -> list[dict[str, Any]]:
    runs = (case.get(side) or {}).get("runs") or []
    return [r for r in runs if isinstance(r, dict)]


def _short(text: str, limit: int = MAX_REASON_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def run_reasons(run: dict[str, Any]) -> list[str]:
    """What failed in one run: assertion message, failed checks, error (deduplicated)."""
    out: list[str] = []
    for key in MESSAGE_KEYS:
        value = run.get(key)
        if isinstance(value, str) and value.strip():
            out.append(_short(value))
            break
    for check in run.get("failed_checks") or []:
        out.append(_check_text(check))
    error = run.get("error")
    if isinstance(error, dict) and (error.get("type") or error.get("message")):
        out.append(_short(f"error: {error.get('type') or 'Error'}: {error.get('message') or ''}"))
    elif isinstance(error, str) and error:
        out.append(_short(f"error: {error}"))
    return list(dict.fromkeys(r for r in out if r))


def _check_text(check: Any) -> str:
    if isinstance(check, dict):
        label = str(check.get("check") or check.get("name") or "check")
        failure = check.get("failure") or check.get("message")
        return _short(f"{label}: {failure}" if failure else label)
    return _short(str(check))


def failing_side(case: dict[str, Any]) -> str:
    """The side whose failures explain the verdict: the baseline's for an improvement."""
    return "baseline" if case.get("verdict") == "improved" else "candidate"


def case_reasons(case: dict[str, Any]) -> list[str]:
    """The failed checks or messages behind a case's verdict, across its epochs."""
    verdict = case.get("verdict")
    if verdict == "missing_candidate":
        return ["no candidate run (the candidate never ran this case)"]
    if verdict == "missing_baseline":
        return ["no baseline run (record one with --opsladder-mode=record)"]
    reasons: list[str] = []
    for run in _runs(case, failing_side(case)):
        reasons += run_reasons(run)
    reasons = list(dict.fromkeys(reasons))
    if not reasons and verdict in ("regressed", "improved"):
        reasons = ["no failed check recorded (the pass/fail outcome changed)"]
    return reasons


def divergence_words(divergence: Any) -> str:
    """The first divergence as a sentence: which call, and what differs."""
    if not isinstance(divergence, dict):
        return ""
    step = divergence.get("step", "?")
    base, cand = divergence.get("baseline") or {}, divergence.get("candidate") or {}
    b_tool, c_tool = base.get("tool"), cand.get("tool")
    kind = divergence.get("kind")
    if kind == "args" or (kind is None and b_tool == c_tool):
        changes = arg_changes(base.get("args"), cand.get("args"))
        return f"call #{step} {b_tool}: " + ("; ".join(changes) or "different arguments")
    if kind == "tool":
        return f"call #{step}: called {c_tool} instead of {b_tool}"
    if kind == "extra_call":
        return f"call #{step}: an extra call to {c_tool} (the baseline had stopped)"
    if kind == "missing_call":
        return f"call #{step}: the candidate stopped; the baseline called {b_tool}"
    return f"call #{step} ({kind}): {b_tool or '-'} -> {c_tool or '-'}"


def arg_changes(base: Any, cand: Any, limit: int = 2) -> list[str]:
    """Up to ``limit`` argument paths that differ, as ``path old -> new``."""
    flat_b, flat_c = _flatten(base, ""), _flatten(cand, "")
    paths = [p for p in sorted(set(flat_b) | set(flat_c)) if flat_b.get(p) != flat_c.get(p)]
    out = [f"{p or 'args'} {_pair(flat_b.get(p), flat_c.get(p))}" for p in paths[:limit]]
    if len(paths) > limit:
        out.append(f"{len(paths) - limit} more argument(s)")
    return out


def _flatten(value: Any, path: str) -> dict[str, str]:
    if isinstance(value, dict) and value:
        out: dict[str, str] = {}
        for key, item in value.items():
            out |= _flatten(item, f"{path}.{key}" if path else str(key))
        return out
    return {path: json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)}


def _pair(old: str | None, new: str | None, keep: int = 12) -> str:
    """``old -> new``, both cut to fit; a long shared start is elided so that the part that
    differs is what shows (two titles that differ only at the end would otherwise read alike)."""
    if old is None or new is None:
        return f"{_value(old)} -> {_value(new)}"
    same = _common_prefix(old, new)
    if same > keep + 4:
        old, new = "\u2026" + old[same - keep :], "\u2026" + new[same - keep :]
    return f"{_value(old)} -> {_value(new)}"


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _value(text: str | None) -> str:
    return "(absent)" if text is None else _short(text, MAX_VALUE_CHARS)


def first_text(case: dict[str, Any], side: str) -> str:
    for run in _runs(case, side):
        text = run.get("output_text")
        if isinstance(text, str):
            return text
        if text is not None:
            return json.dumps(text, ensure_ascii=False, sort_keys=True, default=str)
    return ""


def short_diff(before: str, after: str, budget: int = 120) -> list[tuple[str, str]]:
    """The outputs' first differences as ``(op, text)`` segments, op in "", "del", "ins"; a
    few words of context around each change, at most ``budget`` characters in all."""
    if before == after:
        return []
    a, b = _TOKEN.findall(before)[:MAX_DIFF_TOKENS], _TOKEN.findall(after)[:MAX_DIFF_TOKENS]
    out: list[tuple[str, str]] = []
    used = 0
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if used >= budget:
            out.append(("", "\u2026"))
            break
        if tag == "equal":
            seg = _context("".join(a[i1:i2]), first=not out, last=i2 == len(a))
            out.append(("", seg))
            used += len(seg)
            continue
        for op, text in (("del", "".join(a[i1:i2])), ("ins", "".join(b[j1:j2]))):
            if text:
                out.append((op, _short_raw(text, max(16, (budget - used) // 2))))
                used += len(out[-1][1])
    return out


def _context(text: str, *, first: bool, last: bool, keep: int = 16) -> str:
    if len(text) <= 2 * keep + 1:
        return text
    head = "" if first else text[:keep]
    tail = "" if last else text[-keep:]
    return f"{head}\u2026{tail}"


def _short_raw(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def explain(case: dict[str, Any]) -> dict[str, Any]:
    """Everything the first screen shows about one case."""
    return {
        "id": str(case.get("case_id")),
        "verdict": case.get("verdict"),
        "severity": case.get("severity") or "",
        "tags": [str(t) for t in case.get("tags") or []],
        "reasons": case_reasons(case),
        "divergence": divergence_words(case.get("first_divergence")),
        "diff": short_diff(first_text(case, "baseline"), first_text(case, "candidate")),
    }
