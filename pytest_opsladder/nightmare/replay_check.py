"""Before a nightmare case replays: is its baseline cassette there? (ladder level 7)

Replay never calls the model or a tool, so a case without its cassette cannot run. Saying so
before the run starts gives one clear message naming the case file, the expected cassette and
the command that records it (instead of a failure inside the run fixture).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_opsladder.modes import Mode, RecordMode

if TYPE_CHECKING:
    from pytest_opsladder.nightmare.case import NightmareCase
    from pytest_opsladder.settings import Settings


def replays(settings: Settings) -> bool:
    """Does this session replay nightmare cases (and so need their cassettes)?"""
    if settings.mode is Mode.SHADOW:
        return False  # shadow mode reports a missing baseline itself (missing_baseline)
    return settings.mode is Mode.REPLAY or settings.record_mode is RecordMode.NONE


def missing_cassette_message(
    case: NightmareCase, cassette: Path, variant: str, root: Path
) -> str | None:
    """The error to show when ``case`` would replay without ``cassette``, else None."""
    if cassette.exists():
        return None
    where = _relative(case.path or Path(case.id), root)
    expected = _relative(cassette, root)
    if cassette.is_symlink():  # there, but a link that leads nowhere (or back to itself)
        expected += (
            f", which is a symbolic link to {_link_target(cassette)!r} that does not resolve"
        )
        fix = "Point the link at the cassette, or remove it and record the cassette with:"
    else:
        fix = "Record it with:"
    return (
        f"nightmare case {case.id!r} ({where}) has no baseline cassette for variant "
        f"{variant!r}: expected {expected}. Replay mode runs offline from that "
        f"cassette, so the case cannot run without it. {fix}\n"
        f"    pytest {where} --opsladder-mode=record\n"
        f"(or retire the case: opsladder nightmare retire {case.id} --reason '...')"
    )


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError as exc:
        return f"? ({exc.strerror})"


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
