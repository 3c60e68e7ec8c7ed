"""The ``opsladder`` command. Each rung adds its subcommands through :data:`SUBCOMMANDS`.

A subcommand module exposes ``register(subparsers) -> None``, which adds the parser named as in
:data:`SUBCOMMANDS` and sets ``func(args) -> int`` on it. Only the named subcommand's module is
imported; a module that registers several names (pause/resume/status) registers them all.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TextIO, cast

from pytest_opsladder import __version__
from pytest_opsladder._modules import module_available
from pytest_opsladder._visible import VisibleStream
from pytest_opsladder.exceptions import OpsladderError

# name -> (module with register(), one-line help). Modules are added by the rung they serve.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "cassette": ("pytest_opsladder.cassette.cli", "inspect and validate cassettes (level 0)"),
    "monitors": ("pytest_opsladder.schedule.cli", "receipts and monitors (level 1)"),
    "idempotency": ("pytest_opsladder.idempotency.cli", "inspect the idempotency store (level 2)"),
    "events": ("pytest_opsladder.observability.cli", "export events and metrics (level 3)"),
    "policy": ("pytest_opsladder.guardrails.cli", "check and test guardrail policies (level 4)"),
    "trash": ("pytest_opsladder.rollback.trash_cli", "list, restore and empty the trash (level 5)"),
    "restore": ("pytest_opsladder.rollback.backup_cli", "restore the last known good (level 5)"),
    "audit": ("pytest_opsladder.rollback.audit_cli", "verify the audit log (level 5)"),
    "pause": ("pytest_opsladder.blast_radius.pause_cli", "pause side effects (level 6)"),
    "resume": ("pytest_opsladder.blast_radius.pause_cli", "resume side effects (level 6)"),
    "status": ("pytest_opsladder.blast_radius.pause_cli", "is the global pause on? (level 6)"),
    "selfcheck": ("pytest_opsladder.drift.cli", "simulate the drift gate's error rates (level 7)"),
    "merge": ("pytest_opsladder.drift.merge_cli", "merge shard results into one verdict (level 7)"),
    "report": ("pytest_opsladder.reports.cli", "render reports from results JSON (level 7)"),
    "nightmare": ("pytest_opsladder.nightmare.cli", "curate the nightmare set (level 7)"),
    "sample": ("pytest_opsladder.store.sample_cli", "sample production runs (level 7)"),
    "review": ("pytest_opsladder.review.cli", "review sampled production runs (level 7)"),
    "judge": ("pytest_opsladder.model_graded.cli", "calibrate model-graded checks (level 7)"),
}


def _optional_subcommands() -> dict[str, tuple[str, str]]:
    """Subcommands whose module is present in this install (rungs land one at a time)."""
    found = {}
    for name, (module, help_text) in SUBCOMMANDS.items():
        if module_available(module):
            found[name] = (module, help_text)
    return found


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opsladder",
        description="pytest-opsladder: production discipline for AI agents. "
        "Run `pytest` to replay cassettes; these subcommands curate and inspect.",
    )
    parser.add_argument("--version", action="version", version=f"opsladder {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    available = _optional_subcommands()
    # The named subcommand's module registers first (with every name it owns), then the others
    # get a one-line placeholder for --help; without a name, every module registers.
    modules = [available[only][0]] if only in available else []
    if only is None:
        modules = list(dict.fromkeys(module for module, _ in available.values()))
    for module in modules:
        importlib.import_module(module).register(sub)
    for name, (_, help_text) in available.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand. Its output shows control and bidi characters as escapes
    (:mod:`pytest_opsladder._visible`), and a reader that goes away ends it quietly."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (cast(TextIO, VisibleStream(s)) for s in saved)
    try:
        try:
            return _run(argv)
        finally:  # now, not at the interpreter's exit: see _reader_gone
            sys.stdout.flush()
    except BrokenPipeError:
        _reader_gone()
        return SIGPIPE_EXIT
    finally:
        sys.stdout, sys.stderr = saved


def _run(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(only=first if first in SUBCOMMANDS else None)
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except OpsladderError as exc:
        print(f"opsladder {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise  # the reader went away: main ends quietly
    except OSError as exc:
        print(f"opsladder {args.command}: error: {_describe(exc)}", file=sys.stderr)
        return 2


# What a shell reports for a filter killed by SIGPIPE (`opsladder events jsonl ... | head`):
# not 1, which would read as "a cassette is invalid" or "the gate failed" under pipefail.
SIGPIPE_EXIT = 128 + 13


def _reader_gone() -> None:
    """The reader of our output closed the pipe (`opsladder ... | head -1`, also with 2>&1).
    Output still buffered would make the interpreter's last flush fail on the way out, and
    print "Exception ignored ... BrokenPipeError" and exit 120: stdout and stderr point at
    /dev/null from here on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _describe(exc: OSError) -> str:
    """An environment failure no command turned into its own error, with the path(s)."""
    paths = " -> ".join(repr(str(p)) for p in (exc.filename, exc.filename2) if p is not None)
    reason = exc.strerror or str(exc) or type(exc).__name__
    if not paths:
        return f"{type(exc).__name__}: {reason}"
    return f"{reason} ({paths}). Check the path and its permissions, then run the command again."


if __name__ == "__main__":
    raise SystemExit(main())
