"""The review page's HTML (ladder level 7). A run is shown with the drift report's per-case
view (failed checks first, then the trajectory table and the output; see
:mod:`pytest_opsladder.reports.case_view`). Every recorded value is escaped, and the page
carries no script at all: the server also sends a Content-Security-Policy without
``script-src``, so model output that contains ``<script>`` is shown, never run.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from pytest_opsladder._visible import visible
from pytest_opsladder.reports.case_view import CSS, reasons_html, run_view_html, summary_from_record

_STYLE = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
section.run{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1em 0}
pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap;word-break:break-word;max-height:24em;
overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
.bad{color:#a00}.good{color:#070}.msg{background:#ffe;padding:.5em;border:1px solid #cc9}
"""


def text(value: Any) -> str:
    """Any recorded value as escaped text (JSON when it is not a string), control and bidi
    characters shown as escapes."""
    if not isinstance(value, str):
        value = json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True, default=str)
    return escape(visible(value, "\n\t"), quote=True)


def render_page(
    runs: list[dict[str, Any]], reviews: dict[str, list[dict[str, Any]]], msg: str
) -> str:
    """The whole page: one section per sampled run, each with its verdict form."""
    body = "".join(
        render_run(run, reviews.get(str(run["entry"].get("run_id")), [])) for run in runs
    )
    banner = f'<p class="msg" id="message">{text(msg)}</p>' if msg else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>opsladder review</title>"
        f"<style>{_STYLE}{CSS}</style></head><body><h1>Review: {len(runs)} sampled run(s)</h1>"
        f"{banner}{body}</body></html>"
    )


def render_run(run: dict[str, Any], reviews: list[dict[str, Any]]) -> str:
    entry = run["entry"]
    record = run.get("record") or {}
    run_id = text(entry.get("run_id"))
    # the report's per-case view of this run: failed checks first, then calls and output
    summary = summary_from_record(record or {"status": entry.get("status")})
    return (
        f'<section class="run" id="run-{run_id}" data-run-id="{run_id}">'
        f"<h2>{text(entry.get('case_id'))} <small>{run_id}</small></h2>"
        f"{_facts(entry)}{reasons_html(summary)}"
        f"<h3>Input</h3><pre class='input'>{text(_case_input(record))}</pre>"
        f"<h3>Run</h3>{run_view_html(str(entry.get('variant') or 'run'), summary)}"
        f"<h3>Metrics</h3>{_metrics(record or entry)}"
        f"<h3>Verdicts</h3>{_reviews(reviews)}{_form(run_id)}</section>"
    )


def _case_input(record: dict[str, Any]) -> Any:
    return (record.get("case") or {}).get("input")


def _facts(entry: dict[str, Any]) -> str:
    why = (entry.get("sample") or {}).get("reasons") or (entry.get("sample") or {}).get("strata")
    cells = [
        ("variant", entry.get("variant")),
        ("status", entry.get("status")),
        ("error", entry.get("error_code")),
        ("started", entry.get("started_at")),
        ("drawn because", ", ".join(why) if why else "uniform draw"),
    ]
    return "<p class='facts'>" + " · ".join(f"{k}: <b>{text(v)}</b>" for k, v in cells) + "</p>"


def _metrics(record: dict[str, Any]) -> str:
    metrics = record.get("metrics") or {}
    rows = "".join(
        f"<tr><td>{text(k)}</td><td>{text(v)}</td></tr>" for k, v in sorted(metrics.items())
    )
    return f"<table class='metrics'>{rows}</table>"


def _reviews(reviews: list[dict[str, Any]]) -> str:
    if not reviews:
        return "<p class='verdicts'>(none yet)</p>"
    items = "".join(
        f"<li class='{text(r.get('verdict'))}'>{text(r.get('verdict'))} "
        f"by {text(r.get('reviewer'))}"
        f" at {text(r.get('at'))}: {text(r.get('note'))}"
        + (f" (promoted to {text(r.get('promoted_to'))})" if r.get("promoted_to") else "")
        + "</li>"
        for r in reviews
    )
    return f"<ul class='verdicts'>{items}</ul>"


def _form(run_id: str) -> str:
    radios = "".join(
        f"<label><input type='radio' name='verdict' value='{v}' required> {v}</label> "
        for v in ("good", "bad", "unsure")
    )
    return (
        f"<form method='post' action='/verdict' class='verdict-form'>"
        f"<input type='hidden' name='run_id' value='{run_id}'>{radios}<br>"
        "<label>reviewer <input name='reviewer'></label><br>"
        "<textarea name='note' rows='2' cols='70' placeholder='note'></textarea><br>"
        "<label><input type='checkbox' name='promote' value='1'> promote to the nightmare set "
        "(bad only)</label> <button type='submit'>record verdict</button></form>"
    )
