"""Realistic, seeded results dicts for the reports' tests and benchmark (level 7).

The reports must not depend on the producer's code, so this builds what a shadow run would
write (docs/results-schema.md, version 1): N cases, some regressed with a first divergence,
long output texts, several epochs, an A/A noise floor. Numbers are plausible, not scored.
"""

from __future__ import annotations

import random
from typing import Any

# Data tables, kept compact: one item a line would triple this module for nothing.
# fmt: off
_WORDS = [
    "the", "refund", "order", "customer", "ticket", "policy", "account", "shipping", "invoice",
    "delay", "apology", "please", "draft", "note", "title", "tag", "summary", "update",
    "request", "billing", "address", "priority", "escalate", "resolved", "within", "days",
    "we", "have", "your", "item", "was", "returned", "credit", "issued", "thank", "you", "for",
    "patience",
]
_SYLLABLES = [
    "ka", "lo", "mi", "ren", "sta", "vo", "qui", "bel", "dor", "fan", "gri", "hu", "jet",
    "lum", "nor", "pra", "sil", "tor", "ux", "wen",
]
_TOOLS = ("search_orders", "get_customer", "list_tags", "create_draft", "send_email", "refund")
_TAGS = ("billing", "titles", "shipping", "refunds", "tone", "long-input", "multilingual")
_METRICS: tuple[dict[str, Any], ...] = (
    {"name": "pass_rate", "type": "binary", "gated": True, "worse": "lower", "margin": 0.02,
     "margin_kind": "absolute", "test": "mcnemar_exact", "effect": "delta_pass_rate"},
    {"name": "latency_s", "type": "numeric", "gated": True, "worse": "higher",
     "margin": 0.2, "margin_kind": "relative", "test": "wilcoxon", "effect": "hodges_lehmann"},
    {"name": "cost", "type": "numeric", "gated": True, "worse": "higher",
     "margin": 0.1, "margin_kind": "relative", "test": "wilcoxon", "effect": "hodges_lehmann"},
    {"name": "tool_calls", "type": "numeric", "gated": False, "worse": "higher",
     "margin": None, "margin_kind": None, "test": "wilcoxon", "effect": "hodges_lehmann"},
    {"name": "trajectory", "type": "trajectory", "gated": False, "worse": "higher",
     "margin": None, "margin_kind": None, "test": "wilcoxon", "effect": "edit_distance_excess"},
)
# fmt: on


def sample_results(
    n_cases: int = 50,
    *,
    seed: int = 0,
    epochs: int = 1,
    regress_fraction: float = 0.08,
    output_words: int = 90,
) -> dict[str, Any]:
    """A results dict of ``n_cases`` cases; the same seed always gives the same dict."""
    rng = random.Random(seed)
    cases = [_case(rng, i, epochs, regress_fraction, output_words) for i in range(n_cases)]
    cases.sort(key=lambda c: (c["verdict"] != "regressed", c["verdict"] != "error"))
    metrics = [_metric(rng, spec, cases) for spec in _METRICS]
    gate_failed = any(m["verdict"] == "fail" for m in metrics)
    return {
        "format": "pytest-opsladder/results",
        "schema_version": 1,
        "created_at": "2026-11-24T02:00:00.000Z",
        "alpha": 0.01,
        "verdict": "fail" if gate_failed else "pass",
        "verdict_reason": _reason(metrics),
        "baseline": {"name": "prod", "fingerprint": _fingerprint(rng, "gpt-4o-2024-08-06")},
        "candidate": {"name": "next", "fingerprint": _fingerprint(rng, "gpt-4.1-mini")},
        "provenance": {
            "python": "3.11.7",
            "packages": {"pytest-opsladder": "0.1.0", "pytest": "8.3.4", "openai": "1.55.0"},
            "git": {"commit": f"{rng.getrandbits(160):040x}", "dirty": False},
        },
        "epochs": {"baseline": epochs, "candidate": epochs},
        "n_cases": n_cases,
        "cases_missing_baseline": [],
        "cases_missing_candidate": [],
        "metrics": metrics,
        "diagnostics": [
            {
                "group": "tool",
                "key": t,
                "metric": "tool_used",
                "p_value": 0.2,
                "q_value": 0.4,
                "effect": round(rng.uniform(-0.1, 0.1), 3),
            }
            for t in _TOOLS[:3]
        ],
        "aa_noise_floor": _aa(metrics) if epochs >= 2 else None,
        "distributions": _distributions(cases),
        "live_calls": {
            "replayed": 2 * n_cases * epochs,
            "recorded": 0,
            "live": n_cases * epochs,
            "blocked": rng.randint(0, 2),
        },
        "cases": cases,
    }


def _case(rng: random.Random, i: int, epochs: int, regress: float, words: int) -> dict[str, Any]:
    roll = rng.random()
    verdict = "regressed" if roll < regress else "improved" if roll < regress * 1.5 else "unchanged"
    if roll > 0.995:
        verdict = "error"
    base_traj = _trajectory(rng)
    cand_traj, divergence = (
        _diverge(rng, base_traj) if verdict == "regressed" else (base_traj, None)
    )
    base_text = _text(rng, words)
    cand_text = _edit(rng, base_text) if verdict != "unchanged" else base_text
    return {
        "case_id": f"case-{i:05d}-{rng.choice(_WORDS)}",
        "tags": rng.sample(_TAGS, rng.randint(0, 2)),
        "severity": rng.choice(("low", "medium", "high")),
        "verdict": verdict,
        "metric_deltas": _deltas(rng, verdict),
        "first_divergence": divergence,
        "baseline": {"runs": [_run(rng, e, base_traj, base_text, True) for e in range(epochs)]},
        "candidate": {
            "runs": [
                _run(rng, e, cand_traj, cand_text, verdict != "regressed") for e in range(epochs)
            ]
        },
    }


def _trajectory(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "tool": tool,
            "args": {"query": " ".join(rng.choices(_WORDS, k=3)), "limit": 5},
            "result": [{"id": rng.randint(1, 999)}],
            "error": None,
        }
        for tool in rng.choices(_TOOLS, k=rng.randint(2, 6))
    ]


def _diverge(
    rng: random.Random, base: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    step = rng.randrange(len(base))
    cand = [dict(call) for call in base]
    if rng.random() < 0.5:
        cand[step] = {**cand[step], "args": {**cand[step]["args"], "query": "wrong customer"}}
        kind = "args"
    else:
        cand[step] = {**cand[step], "tool": "send_email"}
        kind = "tool"
    pick = ("tool", "args")
    divergence = {
        "step": step,
        "kind": kind,
        "baseline": {k: base[step][k] for k in pick},
        "candidate": {k: cand[step][k] for k in pick},
    }
    return cand, divergence


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """~2,000 words with Zipf weights: text about as compressible as real model output."""
    made = {"".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))) for _ in range(2400)}
    words = _WORDS + sorted(made)
    return words, [1.0 / (rank + 1) for rank in range(len(words))]


_VOCAB = _vocabulary(random.Random(7))


def _text(rng: random.Random, words: int) -> str:
    vocab, weights = _VOCAB
    n = max(1, int(rng.lognormvariate(0, 0.6) * words))
    chosen = rng.choices(vocab, weights, k=n)
    return "\n".join(" ".join(chosen[i : i + 14]) + "." for i in range(0, n, 14))


def _edit(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    for _ in range(max(1, len(words) // 20)):
        words[rng.randrange(len(words))] = rng.choice(_WORDS).upper()
    return " ".join(words)


def _run(
    rng: random.Random, epoch: int, traj: list[dict[str, Any]], text: str, passed: bool
) -> dict[str, Any]:
    latency = round(rng.lognormvariate(0.0, 0.4) * (1.0 if passed else 1.3), 3)
    return {
        "run_id": f"{rng.getrandbits(64):016x}",
        "epoch": epoch,
        "status": "complete",
        "passed": passed,
        "failed_checks": [] if passed else ["contains: refund"],
        "output_text": text,
        "trajectory": traj,
        "metrics": {
            "latency_s": latency,
            "tokens_in": rng.randint(200, 900),
            "tokens_out": len(text) // 4,
            "cost": round(len(text) * 2e-7, 7),
            "tool_calls": len(traj),
        },
        "divergences": 0 if passed else 1,
        "error": None,
    }


def _deltas(rng: random.Random, verdict: str) -> dict[str, float]:
    sign = {"regressed": -1.0, "improved": 1.0}.get(verdict, 0.0)
    return {
        "pass_rate": sign,
        "latency_s": round(rng.gauss(0.02, 0.05), 3),
        "cost": round(rng.gauss(0, 1e-5), 7),
    }


def _metric(
    rng: random.Random, spec: dict[str, Any], cases: list[dict[str, Any]]
) -> dict[str, Any]:
    base, cand = _per_case(cases, spec["name"])
    n = len(base)
    mb, mc = _mean(base), _mean(cand)
    est = mc - mb
    half = 1.96 * (abs(est) + 0.01) / max(1.0, n**0.5) * 3
    failed = spec["gated"] and spec["name"] == "pass_rate" and est < -spec["margin"]
    p = 0.003 if failed else round(rng.uniform(0.2, 0.9), 4)
    return {
        **{k: spec[k] for k in ("name", "type", "gated", "worse", "margin", "margin_kind", "test")},
        "alternative": "less" if spec["worse"] == "lower" else "greater",
        "statistic": round(abs(est) * n, 3),
        "p_value": p,
        "p_adjusted": min(1.0, p * 3) if spec["gated"] else None,
        "effect": {
            "name": spec["effect"],
            "estimate": round(est, 4),
            "ci_low": round(est - half, 4),
            "ci_high": round(est + half, 4),
            "ci_level": 0.95,
        },
        "extra": {},
        "mde": round(2.8 / max(1.0, n**0.5) * 0.5, 4),
        "n": n,
        "baseline_summary": {"mean": round(mb, 4)},
        "candidate_summary": {"mean": round(mc, 4)},
        "verdict": ("fail" if failed else "pass") if spec["gated"] else "not_gated",
        "reason": f"{spec['name']} moved by {est:+.4f} (p={p:.4f}).",
    }


def _per_case(cases: list[dict[str, Any]], name: str) -> tuple[list[float], list[float]]:
    def value(run: dict[str, Any]) -> float:
        if name == "pass_rate":
            return 1.0 if run["passed"] else 0.0
        if name == "trajectory":
            return float(run["divergences"])
        return float(run["metrics"][name])

    base = [_mean([value(r) for r in c["baseline"]["runs"]]) for c in cases]
    cand = [_mean([value(r) for r in c["candidate"]["runs"]]) for c in cases]
    return base, cand


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _distributions(cases: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    out = {}
    for name in ("pass_rate", "latency_s", "cost", "tool_calls"):
        base, cand = _per_case(cases, name)
        out[name] = {"baseline": base, "candidate": cand}
    return out


def _aa(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [{"name": m["name"], "p_value": 0.6, "effect": 0.01, "verdict": "pass"} for m in metrics]
    return {"epochs_split": [1, 1], "metrics": rows, "false_alarms": 0}


def _fingerprint(rng: random.Random, model: str) -> dict[str, Any]:
    return {
        "model": model,
        **{k: f"{rng.getrandbits(64):016x}" for k in ("prompt_hash", "params_hash", "tools_hash")},
    }


def _reason(metrics: list[dict[str, Any]]) -> str:
    failed = [m for m in metrics if m["verdict"] == "fail"]
    if not failed:
        return "no gated metric regressed beyond its margin"
    m = failed[0]
    return f"{m['name']} regressed beyond its margin (p_holm={m['p_adjusted']:.4f} < 0.01)"
