"""One run as the report's per-case view shows it, rendered on the server (level 7).

The HTML report draws a case's runs in the browser (its script builds the view from the
embedded data); the review page carries no script at all. This module renders the same view
as static, escaped HTML with the same structure and class names: the status line with the
failed checks, the assertion message, the error, the trajectory table (#, tool, args, result)
and the output; a reviewer reads a production run exactly as a case in a drift report.
"""

from __future__ import annotations

import html
import json
from typing import Any

from pytest_opsladder._visible import visible
from pytest_opsladder.reports.case_reasons import MESSAGE_KEYS, run_reasons

MAX_CELL_CHARS = 2_000  # per argument or result cell, as in the report

CSS = """
.why{margin:.4em 0}.why .reason{color:#b42318}.why.passed .reason{color:#067647}
.run h4{margin:.6em 0 .3em}.run .status{margin:.2em 0}
table.trajectory{border-collapse:collapse;width:100%}
table.trajectory td,table.trajectory th{border:1px solid #eaecf0;padding:3px 8px;text-align:left;
vertical-align:top}
table.trajectory td:nth-child(n+3){font-family:ui-monospace,monospace;font-size:12.5px;
word-break:break-word}
pre.message{background:#fff4e5;border:1px solid #f7c37a}
"""


def escape(text: str) -> str:
    """``text`` as HTML text, control and bidi characters shown as escapes (newlines kept)."""
    return html.escape(visible(text, "\n\t"))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        value = _json(value)
    return escape(value if len(value) <= MAX_CELL_CHARS else value[:MAX_CELL_CHARS] + "\u2026")


def _json(value: Any) -> str:
    """As the report's script writes a value (JSON.stringify: compact, keys in their order)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def summary_from_record(record: dict[str, Any]) -> dict[str, Any]:
    """A stored run (``Run.to_dict()`` form) as the results' run summary the report shows."""
    extra = _mapping(record.get("extra"))
    checks = [c for c in extra.get("checks") or [] if isinstance(c, dict)]
    failed = [
        {"check": c.get("check"), "failure": c.get("failure")}
        for c in checks
        if not c.get("passed")
    ]
    error = record.get("error")
    passed = extra.get("passed", error is None and not failed)
    out = {
        "status": record.get("status") or ("error" if error else "complete"),
        "passed": passed,
        "failed_checks": failed,
        "error": error,
        "output_text": _output_text(record.get("output")),
        "trajectory": [_step(e) for e in record.get("events") or [] if _is_call(e)],
        "judges": [_judge(e) for e in record.get("events") or [] if _is_judge(e)],
    }
    out |= {k: extra[k] for k in MESSAGE_KEYS if isinstance(extra.get(k), str)}
    return out


def _output_text(output: Any) -> str:
    if output is None or isinstance(output, str):
        return output or ""
    return json.dumps(output, ensure_ascii=False, sort_keys=True, default=str)


def _is_call(event: Any) -> bool:
    return isinstance(event, dict) and event.get("kind") == "tool_call"


def _is_judge(event: Any) -> bool:
    return isinstance(event, dict) and event.get("kind") == "judge"


def _judge(event: dict[str, Any]) -> dict[str, Any]:
    data = _mapping(event.get("data"))
    return {k: data.get(k) for k in ("name", "score", "passed", "reason", "error")}


def judge_line(judge: dict[str, Any]) -> str:
    """``judge one-sentence: 4 (passed): <reason>``, or the error of a judge with no verdict."""
    name = judge.get("name") or "judge"
    if judge.get("error"):
        return f"judge {name}: no verdict: {judge['error']}"
    verdict = "passed" if judge.get("passed") else "failed"
    return f"judge {name}: {judge.get('score')} ({verdict}): {judge.get('reason') or ''}"


def _step(event: dict[str, Any]) -> dict[str, Any]:
    data = _mapping(event.get("data"))
    return {
        "tool": event.get("name"),
        "args": data.get("args"),
        "result": data.get("result"),
        "error": data.get("error"),
    }


def reasons_html(run: dict[str, Any]) -> str:
    """Why the run failed, in the words the report's first screen uses."""
    reasons = run_reasons(run)
    if not reasons:
        return "<div class='why passed'><span class='reason'>passed: no failed check</span></div>"
    items = "".join(f"<div class='reason'>{escape(r)}</div>" for r in reasons)
    return f"<div class='why'>{items}</div>"


def run_view_html(name: str, run: dict[str, Any], step: int = -1) -> str:
    """The report's per-run column (``div.run``) for one run summary."""
    failed = [c if isinstance(c, str) else _check(c) for c in run.get("failed_checks") or []]
    passed = run.get("passed", "n/a")
    passed = _json(passed) if isinstance(passed, bool) else passed  # "false", as the script
    status = f"status {run.get('status', 'n/a')}, passed {passed}"
    status += f", failed: {'; '.join(failed)}" if failed else ""
    parts = [f"<h4>{escape(name)}</h4><div class='status'>{escape(status)}</div>"]
    message = next((run[k] for k in MESSAGE_KEYS if isinstance(run.get(k), str) and run[k]), "")
    if message:
        parts.append(f"<pre class='message'>{escape(message)}</pre>")
    if run.get("error"):
        parts.append(f"<div class='mono'>error: {escape(_json(run['error']))}</div>")
    judges = [j for j in run.get("judges") or [] if isinstance(j, dict)]
    if judges:
        lines = "".join(f"<div class='reason'>{escape(judge_line(j))}</div>" for j in judges)
        parts.append(f"<div class='judges'>{lines}</div>")
    parts.append(_trajectory(run.get("trajectory") or [], step))
    parts.append(f"<h4>output</h4><pre class='output'>{_text(run.get('output_text'))}</pre>")
    return f"<div class='run run-{escape(name)}'>{''.join(parts)}</div>"


def _check(check: dict[str, Any]) -> str:
    label = str(check.get("check") or "check")
    return f"{label}: {check['failure']}" if check.get("failure") else label


def _trajectory(calls: list[Any], step: int) -> str:
    head = "<tr><th>#</th><th>tool</th><th>args</th><th>result</th></tr>"
    rows = "".join(
        f"<tr class='{'diverged' if i == step else ''}'><td>{i}</td><td>{_text(c.get('tool'))}</td>"
        f"<td>{escape(_json(c.get('args')))}</td><td>{_result(c)}</td></tr>"
        for i, c in enumerate(calls)
        if isinstance(c, dict)
    )
    if not rows:
        return "<p class='muted'>(no tool calls)</p>"
    return f"<table class='trajectory'>{head}{rows}</table>"


def _result(call: dict[str, Any]) -> str:
    if call.get("error"):
        return "error: " + escape(_json(call["error"]))
    return _text(_json(call.get("result")))
