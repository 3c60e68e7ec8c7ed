"""What the shadow session says in the terminal beyond the report's summary (ladder level 7).

Which cases regressed and why (the user's failed assertion or check, then the first divergence
in words), which had nothing to pair with and the command that records them, which candidate
runs were replayed instead of calling the model, and which models had no price.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_opsladder._visible import visible

MAX_REGRESSED = 10


def regressed_lines(regressed: list[dict[str, Any]]) -> list[str]:
    if not regressed:
        return []
    lines = [f"  regressed cases ({len(regressed)}; passed on the baseline, failed now):"]
    for case in regressed[:MAX_REGRESSED]:
        # ids, assertion messages and divergences are recorded text: a control or bidi
        # character in them is shown as an escape, never acted on by the terminal
        lines.append(f"    {visible(case['case_id'])}: {visible(case.get('reason') or 'failed')}")
        if case.get("first_divergence"):
            lines.append(f"      first divergence: {visible(case['first_divergence'])}")
    if len(regressed) > MAX_REGRESSED:
        lines.append(f"    ... and {len(regressed) - MAX_REGRESSED} more (see the report)")
    return lines


def no_pairs_lines(
    missing: list[str], skipped: dict[str, str], collected: int, lost: dict[str, str] | None = None
) -> list[str]:
    """Shadow with nothing to compare: what is missing and how to record it; cases that ran
    and were lost (a test that failed in setup before its run began) say why instead."""
    lines = ["no paired cases: the gate has nothing to compare, so its verdict is inconclusive."]
    if missing:
        shown = ", ".join(map(visible, missing[:5])) + (" ..." if len(missing) > 5 else "")
        lines.append(f"  {len(missing)} case(s) have no baseline cassette: {shown}")
        lines.append("  record the baselines first: pytest --opsladder-mode=record")
    if skipped:
        lines.append(f"  {len(skipped)} case(s) were skipped by their test")
    unpaired = {c: why for c, why in (lost or {}).items() if c not in skipped}
    for case_id, why in sorted(unpaired.items())[:5]:
        lines.append(f"  {visible(case_id)}: {visible(why)}")
    if len(unpaired) > 5:
        lines.append(f"  ... and {len(unpaired) - 5} more (see cases_lost in the results)")
    if not missing and not skipped and not unpaired:
        what = "no opsladder case ran" if collected else "no test was selected"
        lines.append(f"  {what}: mark tests with @pytest.mark.opsladder (or use the "
                     "opsladder_run fixture), record them with pytest --opsladder-mode=record, "
                     "then run pytest --opsladder-shadow")  # fmt: skip
    return lines


def interrupted_line(paired: int, report_dir: Path | None) -> str:
    """An interrupted session gives no verdict on the part of the suite that ran."""
    kept = f"the reports in {report_dir} were left as they were" if report_dir else "no reports"
    return (
        f"no verdict: the session was interrupted ({paired} case(s) had run), and the gate "
        f"does not judge part of the suite; {kept}. Fix what stopped it and rerun "
        "pytest --opsladder-shadow."
    )


def collection_errors_line(errors: dict[str, str], paired: int, report_dir: Path | None) -> str:
    """Files that failed to collect: the suite is not all there, so no verdict is given."""
    kept = f"the reports in {report_dir} were left as they were" if report_dir else "no reports"
    files = ", ".join(sorted(errors)[:5]) + (" ..." if len(errors) > 5 else "")
    return (
        f"no verdict: {len(errors)} file(s) could not be collected ({files}), so the suite is "
        f"incomplete ({paired} case(s) had run) and the gate does not judge part of it; {kept}. "
        "Fix the collection error(s) and rerun pytest --opsladder-shadow."
    )


def notes_lines(results: dict[str, Any], replayed: list[str]) -> list[str]:
    lines = []
    skipped = results.get("cases_skipped") or {}
    if skipped:
        lines.append(f"  skipped by their test (not paired): {len(skipped)} case(s)")
    if replayed:
        lines.append(
            f"  {len(replayed)} candidate run(s) were replayed from existing candidate "
            "cassettes instead of calling the model; to call it again pass "
            "--opsladder-record-mode=all"
        )
    unpriced = results.get("unpriced_models") or []
    if unpriced:
        models = ", ".join(map(visible, unpriced))
        lines.append(
            f"  no price for model(s) {models}: their cost is missing (NaN), not "
            "0; add them to [tool.opsladder.prices] in pyproject.toml"
        )
    return lines
