"""The verdict for CI (level 7): a Markdown job summary, JUnit XML, and terminal lines.

A CI page shows only a few things well: a job summary (Markdown), test results (JUnit) and the
log. Each gets the same verdict and numbers as the HTML report, short enough to read there. In
JUnit every gated metric is a test case and so is the gate, so a failing gate shows as a failed
test in any CI that reads JUnit; an inconclusive one shows as skipped with its reason.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from pytest_opsladder._visible import field
from pytest_opsladder.reports.case_payload import ordered_cases
from pytest_opsladder.reports.case_reasons import case_reasons, divergence_words
from pytest_opsladder.reports.job_summary import markdown_summary
from pytest_opsladder.reports.svg_plots import fmt_num
from pytest_opsladder.reports.text_safety import clean, xml_text

TOP_CASES = 10
_ICON = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


__all__ = ["case_lines", "headline", "junit_xml", "markdown_summary", "terminal_summary"]


def _effect(metric: dict[str, Any]) -> str:
    effect = _dict(metric.get("effect"))
    est, lo, hi = (fmt_num(effect.get(k)) for k in ("estimate", "ci_low", "ci_high"))
    return f"{est} [{lo}, {hi}]"


def _names(results: dict[str, Any]) -> tuple[str, str]:
    base = (results.get("baseline") or {}).get("name", "baseline")
    cand = (results.get("candidate") or {}).get("name", "candidate")
    return str(base), str(cand)


def _counts(results: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in results["cases"]:
        counts[case["verdict"]] = counts.get(case["verdict"], 0) + 1
    return counts


def headline(results: dict[str, Any]) -> str:
    """One line: the gate's verdict, its alpha, the variants and the reason."""
    base, cand = _names(results)
    verdict = _ICON.get(results["verdict"], str(results["verdict"]).upper())
    reason = results.get("verdict_reason") or ""
    return f"drift gate {verdict} at alpha={fmt_num(results['alpha'])} ({base} -> {cand}): {reason}"


def terminal_summary(results: dict[str, Any]) -> list[str]:
    """Short lines for the pytest terminal summary: verdict, gated metrics, case counts."""
    lines = [headline(results)]
    for metric in results["metrics"]:
        if metric.get("gated"):
            lines.append(
                f"  {metric['name']:<16} {metric.get('verdict', '?'):<12} effect {_effect(metric)}"
                f"  p_adj {fmt_num(metric.get('p_adjusted'))}  MDE {fmt_num(metric.get('mde'))}"
            )
    counts = _counts(results)
    scored = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items())) or "no cases"
    lines.append(f"  cases: {scored}")
    live = results.get("live_calls") or {}
    if live:
        lines.append("  calls: " + ", ".join(f"{v} {k}" for k, v in live.items()))
    return [field(clean(line)) for line in lines]


def case_lines(results: dict[str, Any], limit: int = TOP_CASES) -> list[str]:
    """Terminal lines for the first ``limit`` regressed and errored cases, each with its
    reason (the failed check or message, then the first divergence), as the report leads."""
    bad = [c for c in ordered_cases(results) if c.get("verdict") in ("regressed", "error")]
    lines = []
    for case in bad[:limit]:
        why = "; ".join(case_reasons(case)[:2]) or "outcome changed"
        where = divergence_words(case.get("first_divergence"))
        lines.append(f"  {case.get('verdict')}: {case.get('case_id')}: {why}")
        if where:
            lines.append(f"      first divergence: {where}")
    if len(bad) > limit:
        lines.append(f"  ... and {len(bad) - limit} more: see report.html")
    return [field(clean(line)) for line in lines]


def junit_xml(results: dict[str, Any]) -> bytes:
    """JUnit XML: one test case per gated metric plus one for the gate, with properties."""
    gated = [m for m in results["metrics"] if m.get("gated")]
    suite = ET.Element("testsuite", name="opsladder.drift_gate", tests=str(len(gated) + 1))
    props = ET.SubElement(suite, "properties")
    for key, value in _suite_properties(results).items():
        ET.SubElement(props, "property", name=key, value=xml_text(value))
    for metric in gated:
        _testcase(
            suite,
            f"metric[{metric['name']}]",
            metric.get("verdict", ""),
            metric.get("reason") or "",
            _metric_properties(metric),
        )
    _testcase(suite, "gate", results["verdict"], results.get("verdict_reason") or "", {})
    suite.set("failures", str(len(suite.findall("testcase/failure"))))
    suite.set("errors", "0")  # the gate reports failures, never errors; strict schemas need it
    suite.set("skipped", str(len(suite.findall("testcase/skipped"))))
    root = ET.Element("testsuites", name="opsladder")
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, suite.get(key, "0"))
    root.append(suite)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _testcase(
    suite: ET.Element, name: str, verdict: str, reason: str, props: dict[str, Any]
) -> None:
    case = ET.SubElement(suite, "testcase", classname="opsladder.drift_gate", name=xml_text(name))
    if props:
        holder = ET.SubElement(case, "properties")
        for key, value in props.items():
            ET.SubElement(holder, "property", name=key, value=xml_text(value))
    # the reason as the element's text too: GitLab shows only that text as the test's details
    # (an attribute-only element reads as a hash there), Jenkins shows it as the stack trace
    if verdict == "fail":
        failure = ET.SubElement(case, "failure", message=xml_text(reason), type="DriftGateFailure")
        failure.text = xml_text(reason)
    elif verdict == "inconclusive":
        skipped = ET.SubElement(case, "skipped", message=xml_text(f"inconclusive: {reason}"))
        skipped.text = xml_text(f"inconclusive: {reason}")


def _suite_properties(results: dict[str, Any]) -> dict[str, Any]:
    base, cand = _names(results)
    git = (results.get("provenance") or {}).get("git") or {}
    return {
        "verdict": results["verdict"],
        "alpha": results["alpha"],
        "baseline": base,
        "candidate": cand,
        "n_cases": results.get("n_cases", len(results["cases"])),
        "git_commit": git.get("commit") or "",
        "schema_version": results["schema_version"],
    }


def _metric_properties(metric: dict[str, Any]) -> dict[str, Any]:
    effect = _dict(metric.get("effect"))
    keys = ("test", "statistic", "p_value", "p_adjusted", "margin", "margin_kind", "mde", "n")
    props = {k: metric.get(k) for k in keys if metric.get(k) is not None}
    props.update({f"effect_{k}": v for k, v in effect.items() if v is not None})
    return props
