"""``opsladder audit verify FILE [--checkpoint FILE]`` (ladder level 5).

Exit 0 when the log is intact; 1 naming the first bad sequence number otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pytest_opsladder.rollback.audit_verify import verify_log


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("audit", help="verify the audit log (level 5)")
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", help="verify the hash chain from genesis")
    verify.add_argument("file", help="the audit log (JSON lines)")
    verify.add_argument(
        "--checkpoint",
        default=None,
        metavar="FILE",
        help="the external checkpoint: also detects a cut tail, a deleted log, a recomputed chain",
    )
    verify.set_defaults(func=_verify)


def _verify(args: argparse.Namespace) -> int:
    report = verify_log(args.file, args.checkpoint)
    if report.ok:
        extra = f", {report.checkpoints} checkpoint(s) matched" if args.checkpoint else ""
        print(report.message() + extra)
        if not args.checkpoint:
            print("note: without --checkpoint a cut tail or a recomputed chain is not detected")
        return 0
    print(report.message(), file=sys.stderr)
    return 1
