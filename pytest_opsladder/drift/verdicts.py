"""Three-way verdicts of the gate from two one-sided tests per metric (ladder level 7).

FAIL when the degradation is significantly above the margin (Holm over the gated metrics'
fail p-values); PASS only when it is significantly below it (Holm over the pass p-values, and
again with every lost pair imputed as the worst case); otherwise INCONCLUSIVE, with the upper
confidence bound, the MDE and the suite size that would decide. So P(pass) <= alpha whenever the
true degradation is at or beyond the margin. With margin 0, PASS means "significantly better".
"""

from __future__ import annotations

from typing import Any

from pytest_opsladder.drift.adjust import holm
from pytest_opsladder.drift.gate import GateConfig, Verdict


def _p(value: Any) -> float:
    return 1.0 if value is None else float(value)


def _worst_case(m: dict[str, Any]) -> Any:
    worst = m.get("p_value_pass_worst_case")
    return m.get("p_value_pass") if worst is None else worst


def apply_gate(metrics: list[dict[str, Any]], gate: GateConfig) -> tuple[str, str]:
    """Holm-adjust both families in place, give each gated metric a verdict; return the
    overall verdict and its reason."""
    gated = [m for m in metrics if m["gated"]]
    fails = holm([_p(m["p_value"]) for m in gated])
    passes = holm([_p(m["p_value_pass"]) for m in gated])
    worst = holm([_p(_worst_case(m)) for m in gated])
    for m, p_fail, p_pass, p_worst in zip(gated, fails, passes, worst, strict=True):
        m["p_adjusted"], m["p_adjusted_pass"] = p_fail, p_pass
        m["verdict"], m["reason"] = metric_verdict(m, gate, p_worst)
    return overall_verdict(gated, gate)


def metric_verdict(m: dict[str, Any], gate: GateConfig, p_worst: float) -> tuple[str, str]:
    name, margin, alpha = m["name"], fmt_margin(m), gate.alpha
    lost = lost_note(m)
    if m.get("inconclusive_reason"):
        return Verdict.INCONCLUSIVE, f"{name}: {m['inconclusive_reason']}{lost}"
    if m["n"] < gate.min_cases:
        return Verdict.INCONCLUSIVE, (
            f"{name}: only {m['n']} case(s) have both a baseline and a candidate; "
            f"at least {gate.min_cases} are needed to test it{lost}"
        )
    if m["p_adjusted"] < alpha:
        return Verdict.FAIL, (
            f"{name} degraded beyond its margin {margin} "
            f"(p_holm={m['p_adjusted']:.3g} < alpha={alpha:g}){lost}"
        )
    total = m["n"] + m["n_lost"]
    share = m["n_lost"] / total if total else 0.0
    if share > gate.max_missing_share:
        return Verdict.INCONCLUSIVE, (
            f"{name}: {m['n_lost']} of {total} pair(s) ({share:.1%}) are lost ({lost_parts(m)}), "
            f"more than max_missing_share={gate.max_missing_share:g}; the gate does not pass "
            "what it cannot see: rerun the missing cases"
        )
    if m["p_adjusted_pass"] < alpha and p_worst >= alpha:
        return Verdict.INCONCLUSIVE, (
            f"{name}: within its margin {margin} on the {m['n']} paired cases, but not if the "
            f"{m['n_lost']} lost pair(s) were regressions (worst case: p_holm={p_worst:.3g} >= "
            f"alpha={alpha:g}); rerun the missing cases"
        )
    if m["p_adjusted_pass"] < alpha:
        return Verdict.PASS, (
            f"{name}: degradation shown to stay below its margin {margin} (upper bound "
            f"{fmt_value(m, m['bound'])}, p_holm={m['p_adjusted_pass']:.3g} < alpha={alpha:g}; "
            f"minimum detectable effect {fmt_value(m, m['mde'])}){lost}"
        )
    return Verdict.INCONCLUSIVE, undecided_reason(m, gate) + lost


def undecided_reason(m: dict[str, Any], gate: GateConfig) -> str:
    """Neither test rejected: say what the data allow and what would decide it."""
    name, bound = m["name"], fmt_value(m, m["bound"])
    extra = m.get("extra") or {}
    pairs = ""
    if "b_regressions" in extra:
        pairs = (
            f"; {extra['b_regressions']} regression(s), {extra['c_improvements']} improvement(s)"
        )
    size = m.get("n_decisive")
    decide = f"; about {size} cases would decide it" if size else ""
    if m["margin"] == 0:
        return (
            f"{name}: no significant degradation (upper bound {bound}{pairs}), but with margin 0 "
            f"only a significantly better candidate passes (p_holm={m['p_adjusted_pass']:.3g} "
            f">= alpha={gate.alpha:g}){decide}"
        )
    return (
        f"{name}: neither a degradation beyond its margin {fmt_margin(m)} nor one below it is "
        f"shown at alpha={gate.alpha:g} (upper bound {bound}{pairs}); minimum detectable "
        f"effect {fmt_value(m, m['mde'])} (a degradation caught with {gate.power:.0%} power)"
        f"{decide}"
    )


def lost_parts(m: dict[str, Any]) -> str:
    """What the lost pairs are: cases without a run on one side, values a run did not observe."""
    dropped = int((m.get("extra") or {}).get("dropped_nan") or 0)
    cases = int(m["n_lost"]) - dropped
    parts = [f"{cases} case(s) without a run on one side"] if cases else []
    if dropped:
        parts.append(
            f"{dropped} case(s) with no value of {m['name']} on one side: a run that errored, "
            "did not finish or did not report it"
        )
    return "; ".join(parts) or "a case or a value missing on one side"


def lost_note(m: dict[str, Any]) -> str:
    lost = m.get("n_lost") or 0
    if not lost:
        return ""
    total = m["n"] + lost
    return f" [{lost} of {total} pair(s) lost to a missing case or value]"


def fmt_value(m: dict[str, Any], value: float | None) -> str:
    """A degradation in the margin's unit (a percentage for relative margins)."""
    if value is None:
        return "undefined"
    return f"{value * 100:.3g}%" if m["margin_kind"] == "relative" else f"{value:.3g}"


def fmt_margin(m: dict[str, Any]) -> str:
    return f"{m['margin'] * 100:g}%" if m["margin_kind"] == "relative" else f"{m['margin']:g}"


def overall_verdict(gated: list[dict[str, Any]], gate: GateConfig) -> tuple[str, str]:
    """Fail if any gated metric fails, pass only if every one passes, else inconclusive."""
    for verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE):
        hits = [m for m in gated if m["verdict"] == verdict]
        if hits:
            return verdict.value, "; ".join(m["reason"] for m in hits)
    if not gated:
        # nothing was tested, so nothing was shown: never a pass
        return Verdict.INCONCLUSIVE.value, (
            "no metric is gated, so the gate tested nothing; name one in "
            '[tool.opsladder.gate], such as pass_rate = {worse = "lower", margin = 0.05}'
        )
    return Verdict.PASS.value, (
        f"every gated metric shown within its margin at alpha={gate.alpha:g} (Holm over "
        f"{len(gated)} metric(s)): " + "; ".join(m["reason"] for m in gated)
    )
