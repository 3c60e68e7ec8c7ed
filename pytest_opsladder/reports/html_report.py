"""The one self-contained HTML report of a shadow run (level 7, continuous evaluation).

Rendered with jinja2 (autoescape on) from templates shipped in the package; CSS, JS and the SVG
plots are inline, so the file works from a downloaded CI artifact with no network. The page's
only script is pinned by its sha256 in a Content-Security-Policy, so even markup that slipped
past escaping could not run a script or reach the network.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from pytest_opsladder.reports import case_payload, lead, svg_plots
from pytest_opsladder.reports.text_safety import html_text
from pytest_opsladder.reports.verdicts import CaseVerdict, MetricType

if TYPE_CHECKING:
    import jinja2


@cache
def environment() -> jinja2.Environment:
    """The jinja2 environment over reports/templates (imported here: jinja2 is heavy)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_opsladder.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    env.filters["num"] = svg_plots.fmt_num
    return env


def _shown(value: Any) -> Any:
    """What a ``{{ expression }}`` shows: text with control and bidi characters as escapes
    (before autoescape); markup built here (plots, the script, the rows' JSON, a macro's
    output) as it is. Markup is told by its ``__html__``, as autoescape tells it: a test that
    re-imports markupsafe makes a second Markup class that isinstance would not recognise."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return html_text(value)
    return value


@cache
def script_source(name: str) -> str:
    """A static script shipped next to the templates (read as text, never templated)."""
    return (resources.files("pytest_opsladder.reports") / "templates" / name).read_text("utf-8")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def script_hash(source: str) -> str:
    """The CSP source expression that allows exactly this inline script."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def render_report(results: dict[str, Any]) -> str:
    """The report page for a checked results dict, as one HTML string."""
    from markupsafe import Markup

    cases = case_payload.ordered_cases(results)
    script = script_source("report.js.j2")
    groups = lead.metric_groups(results)
    gated = [str(m["name"]) for m in groups["gated"]]
    context = {
        "r": results,
        "banner": banner(results),
        "lead": first_screen(results, cases),
        "groups": {k: [metric_row(m) for m in v] for k, v in groups.items()},
        "plots": plots(results, {str(m["name"]) for m in groups["gated"] + groups["changed"]}),
        "counts": case_payload.verdict_counts(cases),
        "tags": sorted({str(t) for c in cases for t in c.get("tags") or []}),
        "delta_metrics": [
            n for n in gated if any(n in (c.get("metric_deltas") or {}) for c in cases)
        ],
        "case_verdicts": [v.value for v in CaseVerdict],
        "rows_json": Markup(case_payload.script_json(case_payload.case_rows(cases, gated))),
        "details_chunks": case_payload.details_blobs(cases),
        "details_chunk": case_payload.DETAILS_CHUNK,
        "script": Markup(script),
        "script_hash": script_hash(script),
    }
    return environment().get_template("report.html.j2").render(context)


def banner(results: dict[str, Any]) -> dict[str, Any]:
    """The first thing a reviewer reads: the verdict, at which alpha, and why."""
    epochs = results.get("epochs") or {}
    return {
        "verdict": results["verdict"],
        "alpha": svg_plots.fmt_num(results["alpha"]),
        "reason": results.get("verdict_reason") or "",
        "baseline": (results.get("baseline") or {}).get("name", "baseline"),
        "candidate": (results.get("candidate") or {}).get("name", "candidate"),
        "n_cases": results.get("n_cases", len(results["cases"])),
        "epochs": f"{epochs.get('baseline', '?')} / {epochs.get('candidate', '?')}",
        "created_at": results.get("created_at") or "n/a",
    }


def first_screen(results: dict[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The lead: pass rate, counts, and the regressed, errored and improved cases explained."""
    return {
        "pass_rate": lead.pass_rate(results),
        "counts": lead.counts(cases),
        "regressed": lead.lead_cases(cases, ("regressed",)),
        "errored": lead.lead_cases(cases, ("error",)),
        "improved": lead.lead_cases(cases, ("improved",)),
        "missing": [c for c in cases if str(c.get("verdict", "")).startswith("missing_")],
        "limit": lead.LEAD_CASES,
    }


def metric_row(metric: dict[str, Any]) -> dict[str, Any]:
    """One row of the metrics table, numbers formatted and the effect's interval drawn."""
    effect = _dict(metric.get("effect"))
    margin = metric.get("margin")
    return {
        "name": metric["name"],
        "type": metric.get("type") or "",
        "gated": bool(metric.get("gated")),
        "test": f"{metric.get('test') or 'n/a'} ({metric.get('alternative') or 'n/a'})",
        "statistic": svg_plots.fmt_num(metric.get("statistic")),
        "p_value": svg_plots.fmt_num(metric.get("p_value")),
        "p_adjusted": svg_plots.fmt_num(metric.get("p_adjusted")),
        "effect_name": effect.get("name") or "",
        "ci_level": svg_plots.fmt_num(effect.get("ci_level"), 3),
        "strip": svg_plots.interval_strip(effect, svg_plots.margin_boundary(metric)),
        "margin": f"{svg_plots.fmt_num(margin)} {metric.get('margin_kind') or ''}".strip()
        if margin is not None
        else "none",
        "mde": svg_plots.fmt_num(metric.get("mde")),
        "n": metric.get("n", "n/a"),
        "n_lost": metric.get("n_lost"),
        "verdict": metric.get("verdict", "not_gated"),
        "reason": metric.get("reason") or "",
    }


def plots(results: dict[str, Any], shown: set[str]) -> list[dict[str, Any]]:
    """A plot per gated or changed metric: ECDFs for numbers, rates for pass/fail (a plot of a
    constant says nothing, and thirty of them bury the cases)."""
    dists = results.get("distributions") or {}
    by_name = {m["name"]: m for m in results["metrics"]}
    out = []
    for name, sides in dists.items():
        if not isinstance(sides, dict) or str(name) not in shown:
            continue
        plot = _plot(str(name), sides, by_name.get(name, {}))
        if plot is not None:
            out.append(plot)
    return out


def _plot(name: str, sides: dict[str, Any], metric: dict[str, Any]) -> dict[str, Any] | None:
    base, cand = list(sides.get("baseline") or []), list(sides.get("candidate") or [])
    if metric.get("type") == MetricType.BINARY:
        return svg_plots.rate_plot(name, base, cand, metric.get("effect"))
    return svg_plots.ecdf_plot(name, base, cand)
