"""The Markdown job summary (level 7): what regressed and why, first, under GitHub's 1 MiB.

A CI job summary is read in the CI page, before anyone downloads the HTML. It leads like the
report: the verdict and its reason, the pass-rate change, the case counts, then every regressed
case with its failed checks and first divergence, then the improvements, then the metrics.
GitHub refuses a step summary over 1 MiB, so the case lists stop at a byte budget and point to
``report.html`` for the rest.
"""

from __future__ import annotations

from typing import Any

from pytest_opsladder.reports import lead
from pytest_opsladder.reports.case_payload import ordered_cases
from pytest_opsladder.reports.case_reasons import case_reasons, divergence_words
from pytest_opsladder.reports.svg_plots import fmt_num
from pytest_opsladder.reports.text_safety import md_text

GITHUB_SUMMARY_LIMIT = 1024 * 1024  # bytes; GitHub rejects a larger $GITHUB_STEP_SUMMARY
SUMMARY_BUDGET = 900_000  # bytes for the case lists; the rest of the page stays far below
_ICON = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}
_LISTS = (
    ("Regressed", ("regressed",), "failed checks / message"),
    ("Errored", ("error",), "error"),
    ("Improved", ("improved",), "what the baseline failed"),
    ("Missing on one side", ("missing_baseline", "missing_candidate"), "why"),
)


def markdown_summary(results: dict[str, Any], report_name: str = "report.html") -> str:
    """The job summary: verdict, pass rate, counts, the cases with reasons, the metrics."""
    cases = ordered_cases(results)
    budget = [SUMMARY_BUDGET]
    out = [*_head(results, cases)]
    for title, verdicts, column in _LISTS:
        out += _case_list(cases, title, verdicts, column, report_name, budget)
    out += [
        *_metrics(results),
        f"Full report: {md_text(report_name)} (self-contained HTML, "
        "open it offline): every case, side-by-side trajectories and output diffs.",
        "",
    ]
    return "\n".join(out)


def _head(results: dict[str, Any], cases: list[dict[str, Any]]) -> list[str]:
    base = (results.get("baseline") or {}).get("name", "baseline")
    cand = (results.get("candidate") or {}).get("name", "candidate")
    verdict = _ICON.get(results["verdict"], str(results["verdict"]))
    rate = lead.pass_rate(results)
    interval = f" ({md_text(rate['interval'])})" if rate["interval"] else ""
    counts = " · ".join(f"**{n}** {label}" for label, n in lead.counts(cases).items())
    return [
        f"## opsladder drift gate: {verdict} (alpha {fmt_num(results['alpha'])})",
        "",
        f"**{md_text(results.get('verdict_reason') or '', 600)}**",
        "",
        f"Baseline **{md_text(base)}** vs candidate **{md_text(cand)}**, "
        f"{md_text(results.get('n_cases', len(results['cases'])))} cases. Pass rate "
        f"{rate['baseline']} → {rate['candidate']}: {rate['change']}{interval}.",
        "",
        counts,
        "",
    ]


def _case_list(
    cases: list[dict[str, Any]],
    title: str,
    verdicts: tuple[str, ...],
    column: str,
    report_name: str,
    budget: list[int],
) -> list[str]:
    chosen = [c for c in cases if c.get("verdict") in verdicts]
    if not chosen:
        return (
            [f"### {title} (0)", "", f"No case {title.lower()}.", ""]
            if title
            in (
                "Regressed",
                "Improved",
            )
            else []
        )
    out = [
        f"### {title} ({len(chosen)})",
        "",
        f"| case | {column} | first divergence |",
        "|---|---|---|",
    ]
    for shown, case in enumerate(chosen):
        row = _case_row(case)
        budget[0] -= len(row.encode("utf-8")) + 1
        if budget[0] < 0:
            left = len(chosen) - shown
            out += ["", f"... and {left} more {title.lower()} case(s): see {md_text(report_name)}."]
            break
        out.append(row)
    return [*out, ""]


def _case_row(case: dict[str, Any]) -> str:
    why = "<br>".join(md_text(r, 300) for r in case_reasons(case)[:5]) or "-"
    where = md_text(divergence_words(case.get("first_divergence")) or "same tool calls", 300)
    return f"| {md_text(case.get('case_id'), 100)} | {why} | {where} |"


def _metrics(results: dict[str, Any]) -> list[str]:
    groups = lead.metric_groups(results)
    out = ["### Gated metrics", "", *_metric_table(groups["gated"])]
    if groups["changed"]:
        out += ["### Metrics that changed (not gated)", "", *_metric_table(groups["changed"])]
    if groups["unchanged"]:
        names = ", ".join(md_text(m["name"]) for m in groups["unchanged"])
        out += [f"Unchanged or no significant change ({len(groups['unchanged'])}): {names}.", ""]
    if groups["bookkeeping"]:
        names = ", ".join(md_text(m["name"]) for m in groups["bookkeeping"])
        out += [f"Bookkeeping, never tested: {names}.", ""]
    return out


def _metric_table(metrics: list[dict[str, Any]]) -> list[str]:
    if not metrics:
        return ["No metrics were scored.", ""]
    rows = [
        "| metric | gated | test | p adj. | effect [CI] | margin | MDE | n | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in metrics:
        effect = lead.effect_of(m)
        est, lo, hi = (fmt_num(effect.get(k)) for k in ("estimate", "ci_low", "ci_high"))
        n = f"{m.get('n', 'n/a')}" + (f" ({m['n_lost']} lost)" if m.get("n_lost") else "")
        cells = [
            m["name"],
            "yes" if m.get("gated") else "no",
            m.get("test") or "n/a",
            fmt_num(m.get("p_adjusted")),
            f"{est} [{lo}, {hi}]",
            fmt_num(m.get("margin")),
            fmt_num(m.get("mde")),
            n,
            m.get("verdict", "not_gated"),
        ]
        rows.append("| " + " | ".join(md_text(c) for c in cells) + " |")
    return [*rows, ""]
