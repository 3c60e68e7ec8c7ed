"""``opsladder review``: review sampled production runs, in a browser or on the command line.

opsladder review --serve --store runs/ --strategy interesting -n 10 --seed 1
opsladder review --serve --sample sample.jsonl          # a sample drawn by `opsladder sample`
opsladder review --list --sample sample.jsonl           # the runs and their verdicts
opsladder review RUN_ID --verdict bad --note "refunded twice" --promote
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pytest_opsladder._cli_types import port
from pytest_opsladder._visible import field
from pytest_opsladder.store.index import iter_index
from pytest_opsladder.store.layout import resolve_store
from pytest_opsladder.store.reviews import read_reviews
from pytest_opsladder.store.sample_cli import add_sampling_arguments, draw, lines_file


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("review", help="review sampled production runs (level 7)")
    parser.add_argument("run_id", nargs="?", help="record a verdict on this run (CLI path)")
    parser.add_argument("--verdict", help="good, bad or unsure")
    parser.add_argument("--note", default="")
    parser.add_argument("--reviewer", default=None, help="default: your user name")
    parser.add_argument("--promote", action="store_true", help="bad: add it to the nightmare set")
    parser.add_argument("--case-id", default=None, help="with --promote: the new case's id")
    parser.add_argument("--nightmare-dir", default="nightmare_set", type=Path)
    parser.add_argument("--serve", action="store_true", help="serve the review page on loopback")
    parser.add_argument("--port", type=port, default=0, help="with --serve (default: a free port)")
    parser.add_argument("--list", action="store_true", help="print the sampled runs and verdicts")
    parser.add_argument("--sample", type=Path, help="review this sample (from `opsladder sample`)")
    add_sampling_arguments(parser)
    parser.set_defaults(func=run)


def sampled(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.sample is not None:
        return list(iter_index(lines_file(args.sample, "--sample", _SAMPLE)))
    return draw(args)


_SAMPLE = (
    "the sample file `opsladder sample -o FILE` wrote (JSON lines). Pass that file, or leave "
    "--sample out to draw a new sample from the store"
)


def run(args: argparse.Namespace) -> int:
    store = resolve_store(args.store)
    if args.run_id:
        return _record(args, store)
    if args.serve:
        return _serve(args, store)
    return _list(args, store)


def _record(args: argparse.Namespace, store: Path) -> int:
    from pytest_opsladder.review.verdicts import review_run
    from pytest_opsladder.store.errors import StoreConfigError

    if not args.verdict:
        raise StoreConfigError("recording a verdict needs --verdict good|bad|unsure.")
    if args.promote and args.case_id is not None:  # refused before the verdict is recorded
        from pytest_opsladder.nightmare.case_id_rule import check_case_id

        check_case_id(args.case_id, "--case-id")
    record = review_run(
        store,
        args.run_id,
        args.verdict,
        args.note,
        reviewer=args.reviewer,
        promote=args.promote,
        nightmare_dir=args.nightmare_dir,
        case_id=args.case_id,
    )
    print(json.dumps(record, ensure_ascii=False, sort_keys=True))
    return 0


def _list(args: argparse.Namespace, store: Path) -> int:
    reviews = read_reviews(store)
    for entry in sampled(args):
        latest = (reviews.get(str(entry.get("run_id"))) or [{}])[-1]
        run_id, case_id, status = (field(entry.get(k)) for k in ("run_id", "case_id", "status"))
        print(f"{run_id}  {case_id:30} {status:10} verdict={field(latest.get('verdict', '-'))}")
    return 0


def _serve(args: argparse.Namespace, store: Path) -> int:
    from pytest_opsladder.review.server import ReviewSession, make_server, url_of

    session = ReviewSession(store, sampled(args), args.nightmare_dir)
    server = make_server(session, args.port)
    print(
        f"reviewing {len(session.entries)} run(s) at {url_of(server)} (Ctrl-C to stop)", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
