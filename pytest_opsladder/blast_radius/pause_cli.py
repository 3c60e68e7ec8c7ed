"""``opsladder pause | resume | status``: the global kill switch (ladder level 6).

``status`` exits 0 when running and 1 when paused (or when the state is unreadable, odd or
missing after a pause was set, which all count as paused), so scripts can gate on it. ``pause``
and ``resume`` print every copy they wrote (state file, ledger, anchor) and say on stderr which
they could not write; ``resume`` exits 2 if the pause still reads paused afterwards.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pytest_opsladder._visible import field
from pytest_opsladder.blast_radius.pause import ENV_PAUSE_FILE, PauseSwitch


def _add_state(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state",
        metavar="FILE",
        default=None,
        help=f"the pause state file (default: ${ENV_PAUSE_FILE} or .opsladder/pause.json)",
    )


def _parser(subparsers: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    """Add ``name``, or fill in the placeholder cli.py added when another name was invoked."""
    existing: argparse.ArgumentParser | None = subparsers.choices.get(name)
    return existing if existing is not None else subparsers.add_parser(name, help=help_text)


def register(subparsers: Any) -> None:
    pause = _parser(subparsers, "pause", "pause every side-effecting call (level 6)")
    _add_state(pause)
    pause.add_argument("--reason", default="", help="why (shown to every refused call)")
    pause.set_defaults(func=_pause)
    resume = _parser(subparsers, "resume", "resume side-effecting calls (level 6)")
    _add_state(resume)
    resume.set_defaults(func=_resume)
    status = _parser(subparsers, "status", "is the global pause on? exit 1 if paused")
    _add_state(status)
    status.set_defaults(func=_status)


def _pause(args: argparse.Namespace) -> int:
    switch = PauseSwitch(args.state)
    switch.pause(args.reason)
    _warn(switch)
    print(f"paused: side-effecting calls are refused until `opsladder resume` ({switch.path})")
    _wrote(switch)
    return 0


def _resume(args: argparse.Namespace) -> int:
    switch = PauseSwitch(args.state)
    switch.resume()
    _warn(switch)
    print(f"resumed: side-effecting calls are allowed ({switch.path})")
    _wrote(switch)
    return 0


def _warn(switch: PauseSwitch) -> None:
    for problem in switch.problems:
        print(f"opsladder: warning: {field(problem)}", file=sys.stderr)


def _wrote(switch: PauseSwitch) -> None:
    """Where the state went: the files (mode 0644) that agents of every user read."""
    for copy in switch.written:
        print(f"  wrote {copy}")


def _status(args: argparse.Namespace) -> int:
    state = PauseSwitch(args.state).state()
    if not state.paused:
        print("running: not paused")
        return 0
    since = f" since {state.since}" if state.since else ""
    print(field(f"paused{since}: {state.reason or 'no reason given'}"))
    return 1
