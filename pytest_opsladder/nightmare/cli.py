"""``opsladder nightmare add | promote | list | retire | dedupe | stats | record`` (level 7).

    opsladder nightmare add --id refund-twice --input '{"message": "charged twice"}' \\
        --check 'contains: refund' --tag billing --severity high --reason "ticket 4411"
    opsladder nightmare promote runs/2026-11-24/<run_id>.json --reason "double refund"
    opsladder nightmare promote --results reports/results.json --case note-long-title
    opsladder nightmare retire refund-twice --reason "feature removed"
    opsladder nightmare dedupe [--retire]
    opsladder nightmare record reports/results.json && opsladder nightmare stats --flaky
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pytest_opsladder._visible import field
from pytest_opsladder.nightmare import curate, history
from pytest_opsladder.nightmare.case_id_rule import check_case_id
from pytest_opsladder.nightmare.check_args import missing_module, python_targets
from pytest_opsladder.nightmare.errors import CurationError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("nightmare", help="curate the nightmare set (level 7)")
    parser.add_argument("--dir", default="nightmare_set", help="the nightmare set's directory")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_parser(sub)
    _promote_parser(sub)
    sub.add_parser("list", help="list the cases").set_defaults(func=cmd_list)
    retire = sub.add_parser("retire", help="retire a case (kept under retired/, with the reason)")
    retire.add_argument("case_id")
    retire.add_argument("--reason", required=True)
    retire.set_defaults(func=cmd_retire)
    dedupe = sub.add_parser("dedupe", help="cases with the same canonical input")
    dedupe.add_argument("--retire", action="store_true", help="retire all but the first of each")
    dedupe.set_defaults(func=cmd_dedupe)
    stats = sub.add_parser("stats", help="the set's size, verdict history and flaky cases")
    stats.add_argument("--flaky", action="store_true", help="list only the flaky cases")
    stats.set_defaults(func=cmd_stats)
    record = sub.add_parser("record", help="add a results JSON's verdicts to the history")
    record.add_argument("results", nargs="+", type=Path)
    record.set_defaults(func=cmd_record)


def _case_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="append", default=[], help="a check as YAML (repeat)")
    parser.add_argument("--tag", action="append", default=[], help="a tag (repeat)")
    parser.add_argument("--severity", default="medium", help="low, medium, high or critical")
    parser.add_argument("--description", default="")
    parser.add_argument("--allow-duplicate", action="store_true", help="keep a known input")


def _add_parser(sub: Any) -> None:
    add = sub.add_parser("add", help="add a case from the command line")
    add.add_argument("--id", required=True)
    add.add_argument("--input", required=True, help="the input as JSON, or @file.json")
    add.add_argument("--reason", default="", help="why this case belongs in the set")
    _case_options(add)
    add.set_defaults(func=cmd_add)


def _promote_parser(sub: Any) -> None:
    promote = sub.add_parser("promote", help="a production run or a shadow divergence -> case")
    promote.add_argument("run", nargs="?", help="a run file of the store, or a run id")
    promote.add_argument("--store", default=None, help="the store to find a run id in")
    promote.add_argument("--results", type=Path, help="a results JSON (shadow divergence)")
    promote.add_argument("--case", help="with --results: the diverging case's id")
    promote.add_argument("--cassette", type=Path, help="with --results: the baseline cassette")
    promote.add_argument("--id", default=None, help="the new case's id")
    promote.add_argument("--variant", default=None, help="cassette variant name (default: run's)")
    promote.add_argument("--reason", default="", help="why (kept in the provenance)")
    _case_options(promote)
    promote.set_defaults(func=cmd_promote)


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "checks": [curate.parse_check_text(c) for c in args.check],
        "tags": list(args.tag),
        "severity": args.severity,
        "description": args.description,
    }


def cmd_add(args: argparse.Namespace) -> int:
    provenance = {"source": "manual", "date": curate.today(), "reason": args.reason}
    raw = curate.build_case(
        check_case_id(args.id),
        curate.load_json_arg(args.input, "--input"),
        provenance=provenance if args.reason else None,
        **_fields(args),
    )
    path = curate.write_case(Path(args.dir), raw, allow_duplicate=args.allow_duplicate)
    print(f"added {args.id!r}: {path}")
    _hint_checks(raw, path)
    print(f"record its baseline cassette: pytest {path} --opsladder-mode=record")
    return 0


def _hint_checks(raw: dict[str, Any], path: Path) -> None:
    if not raw["checks"]:
        print(
            f"note: {path} has no checks yet (tagged {curate.NEEDS_CHECKS!r}); a case without "
            "checks passes whenever the agent finishes. Add what must hold of the output."
        )
    _warn_unfound_targets(raw["checks"], path)


def _warn_unfound_targets(checks: list[Any], path: Path) -> None:
    """A ``python`` check naming a module that cannot be found from here: told now, not when
    the set is next collected (its module is not imported: finding it runs no user code)."""
    for target in python_targets(checks):
        missing = missing_module(target, Path.cwd())
        if missing:
            print(
                f"warning: {path}: python check {target!r}: module {missing!r} is not found "
                f"from {Path.cwd()}; the case will fail at collection unless the test run can "
                "import it (the rootdir, pythonpath in the pytest config, or an installed "
                "package). Fix the name if it is a typo.",
                file=sys.stderr,
            )


def cmd_promote(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if args.id is not None:
        check_case_id(args.id)
    if args.results is not None:
        return _promote_divergence(args, root)
    if not args.run:
        raise CurationError("promote needs a run file / run id, or --results with --case.")
    from pytest_opsladder.review.lookup import run_file_for

    run_file = run_file_for(args.run, args.store)
    path = curate.promote_run(
        root,
        run_file,
        reason=args.reason or "promoted from production",
        case_id=args.id,
        variant=args.variant,
        allow_duplicate=args.allow_duplicate,
        **_fields(args),
    )
    print(f"promoted run {args.run} to {path} (baseline cassette under {root / 'cassettes'})")
    _warn_unfound_targets(_fields(args)["checks"], path)
    return 0


def _promote_divergence(args: argparse.Namespace, root: Path) -> int:
    from pytest_opsladder.nightmare.divergence import promote_divergence

    if not args.case:
        raise CurationError("--results needs --case CASE_ID: which case diverged.")
    path = promote_divergence(
        root,
        args.results,
        args.case,
        reason=args.reason,
        case_id=args.id,
        cassette=args.cassette,
        allow_duplicate=args.allow_duplicate,
        **_fields(args),
    )
    print(f"promoted the divergence of {args.case!r} to {path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    root = curate.set_root(Path(args.dir))
    cases = curate.load_cases(root)
    for case in cases:
        has = "yes" if curate.case_cassettes(root, case.id).exists() else "NO"
        tags = field(",".join(case.tags) or "-")
        print(f"{case.id:40} {case.severity.value:8} cassette={has:3} tags={tags}")
    if not cases:
        where = "" if root.is_dir() else " (there is no nightmare set directory there: --dir)"
        print(f"no cases in {str(root)!r}{where}; add one with `opsladder nightmare add`")
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    target = curate.retire(Path(args.dir), args.case_id, args.reason)
    print(f"retired {args.case_id!r} -> {target} (reason kept in history/retired.jsonl)")
    return 0


def cmd_dedupe(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    groups = curate.duplicate_groups(root)
    for keeper, *dupes in groups:
        for dupe in dupes:
            print(f"{dupe.id} duplicates {keeper.id} (same canonical input)")
            if args.retire:
                curate.retire(root, dupe.id, f"duplicate of {keeper.id} (same canonical input)")
    print(f"{sum(len(g) - 1 for g in groups)} duplicate(s) in {len(groups)} group(s)")
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    for results in args.results:
        added = history.record_results(Path(args.dir), results)
        note = "already recorded" if added == 0 else f"{added} run verdict(s)"
        print(f"{field(results)}: {note}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from pytest_opsladder.nightmare.stats import print_stats

    return print_stats(Path(args.dir), flaky_only=args.flaky)
