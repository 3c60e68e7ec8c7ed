"""A shadowed case's outcome on each side, and why it regressed (ladder level 7).

The user's test is the ground truth: a failed assertion or an exception in the test body fails
the case, an error in its setup is an ``error`` result; the run's own error and the nightmare
checks add to it, never replace it. A baseline recorded before outcomes were stored falls back
to its run status (``outcome_source: status``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run

TEST_OUTCOME = "test_outcome"  # run.extra key, written by the fixtures when the test ends


def case_verdict(run: Run, checks: list[dict[str, Any]]) -> tuple[bool, str | None, str]:
    """(passed, the first reason it did not, where the outcome came from: test or status)."""
    outcome = run.extra.get(TEST_OUTCOME)
    source = "test" if isinstance(outcome, dict) else "status"
    reasons: list[str] = []
    if isinstance(outcome, dict) and outcome.get("outcome") in ("failed", "error"):
        reasons.append(str(outcome.get("message") or outcome["outcome"]))
    if run.error is not None:
        reasons.append(f"the agent raised {run.error.get('type')}: {run.error.get('message')}")
    elif run.status.value == "incomplete":
        reasons.append("the run did not finish (interrupted)")
    reasons += [f"check {c['check']}: {c.get('failure') or 'failed'}" for c in checks
                if not c["passed"]]  # fmt: skip
    return not reasons, (reasons[0] if reasons else None), source


def divergence_in_words(fd: dict[str, Any] | None) -> str | None:
    """The first divergence of a candidate's tool trajectory, as a sentence."""
    if not fd:
        return None
    base, cand = fd.get("baseline") or {}, fd.get("candidate") or {}
    step = int(fd.get("step", 0)) + 1
    kind = fd.get("kind")
    if kind == "extra_call":
        return f"step {step}: called {cand.get('tool')!r}, which the baseline never did"
    if kind == "missing_call":
        return f"step {step}: stopped where the baseline called {base.get('tool')!r}"
    if kind == "tool":
        return (
            f"step {step}: called {cand.get('tool')!r} where the baseline called "
            f"{base.get('tool')!r}"
        )
    return (
        f"step {step}: {cand.get('tool')!r} called with other arguments: {_args_diff(base, cand)}"
    )


def _args_diff(base: dict[str, Any], cand: dict[str, Any]) -> str:
    """The first argument paths that differ, each as ``path: baseline -> candidate``."""
    from pytest_opsladder.capture.diff import diff_paths

    diffs = diff_paths(base.get("args"), cand.get("args"))
    shown = [f"{path.removeprefix('$.')}: {_short(b)} -> {_short(c)}" for path, b, c in diffs[:2]]
    more = f" (+{len(diffs) - 2} more)" if len(diffs) > 2 else ""
    return "; ".join(shown) + more


def _short(value: Any) -> str:
    import json

    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def regressed_cases(
    runs: list[dict[str, Any]],
    extras: list[dict[str, Any]],
    first_divergences: dict[str, Any],
) -> list[dict[str, Any]]:
    """Cases that passed on the baseline and failed on the candidate, with their reasons."""
    sides: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for run, extra in zip(runs, extras, strict=True):
        case_id = str(run["case"]["id"])
        sides.setdefault(case_id, {}).setdefault(str(extra.get("role")), []).append(extra)
    out = []
    for case_id, roles in sorted(sides.items()):
        base, cand = roles.get("baseline", []), roles.get("candidate", [])
        if not base or not cand or not all(e.get("passed") for e in base):
            continue
        failing = [e for e in cand if not e.get("passed")]
        if failing:
            words = divergence_in_words(first_divergences.get(case_id))
            out.append({"case_id": case_id, "reason": failing[0].get("failure"),
                        "first_divergence": words})  # fmt: skip
    return out
