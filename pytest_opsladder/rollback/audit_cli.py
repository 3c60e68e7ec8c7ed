"""``opsladder audit verify FILE [--checkpoint FILE] [--require-covered]`` (ladder level 5).

Exit codes tell three different truths apart:

- 0: the log is intact (entries after the last checkpoint record are counted and named);
- 1: the log is NOT intact: the first bad sequence number and what is wrong there;
- 2: nothing could be verified: the log or checkpoint is unreadable (a directory, a FIFO, a
  binary or garbled checkpoint, no access) or the command line is wrong.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pytest_opsladder.exceptions import OpsladderError
from pytest_opsladder.rollback.audit_verify import AuditReport, verify_log

EXIT_INTACT, EXIT_TAMPERED, EXIT_UNREADABLE = 0, 1, 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("audit", help="verify the audit log (level 5)")
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser(
        "verify",
        help="verify the hash chain from genesis",
        description="Exit 0 intact, 1 tampered (first bad seq named), 2 unreadable input.",
    )
    verify.add_argument("file", help="the audit log (JSON lines)")
    verify.add_argument(
        "--checkpoint",
        default=None,
        metavar="FILE",
        help="the external checkpoint: also detects a cut tail, a deleted log, a recomputed chain",
    )
    verify.add_argument(
        "--require-covered",
        action="store_true",
        help="fail (exit 1) when entries were appended after the last checkpoint record",
    )
    verify.set_defaults(func=_verify)


def _verify(args: argparse.Namespace) -> int:
    # AuditUnreadableError and RollbackConfigError reach the command's handler: exit 2.
    try:
        report = verify_log(args.file, args.checkpoint, require_covered=args.require_covered)
    except OpsladderError:
        raise  # named errors (unreadable input, usage): the command prints them, exit 2
    except Exception as exc:
        # The verifier is written not to get here; if an input still finds a way, say so
        # plainly instead of a traceback, and never as "intact" or "tampered".
        print(
            f"opsladder audit: error: cannot verify {args.file!r}: {type(exc).__name__}: "
            f"{str(exc)[:300]}. Nothing was verified.",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    return _print_verdict(report, args)


def _print_verdict(report: AuditReport, args: argparse.Namespace) -> int:
    if not report.ok:
        print(report.message(), file=sys.stderr)
        return EXIT_TAMPERED
    extra = f", {report.checkpoints} checkpoint(s) matched" if args.checkpoint else ""
    print(report.message() + extra)
    if not args.checkpoint:
        print(
            f"note: {report.entries} entries not covered by a checkpoint: without --checkpoint "
            "a cut tail or a recomputed chain is not detected"
        )
    return EXIT_INTACT
