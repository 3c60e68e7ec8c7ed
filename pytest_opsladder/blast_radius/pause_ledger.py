"""The durable copies of the global pause besides its state file (ladder level 6).

Every ``pause`` and ``resume`` writes the state file *and* two copies elsewhere, one file per
state path in each:

- the **ledger**, a directory of the operator's choosing (``$OPSLADDER_PAUSE_LEDGER``, else
  ``$XDG_STATE_HOME/opsladder/pause-ledger``, else ``~/.local/state/opsladder/pause-ledger``);
- the **anchor**, a ``.opsladder-pause-ledger`` directory beside the state file's directory
  (in its parent). It is found from the state path alone, so every reader finds it whatever
  its ``HOME`` or user, and it survives deleting the state file or its whole directory.

Deleting the state file or its directory, or swapping in a dangling symlink, therefore loses
nothing: a copy still shows that a pause was set, and missing state after a pause reads as
paused. Entries are keyed by the state file's *real* directory (symlinks resolved, the part
that no longer exists kept as written), so an operator and an agent that name one file by
different paths (a symlinked directory, a relative path) share the entries. Hosts that share
a pause file should share the ledger too (point ``$OPSLADDER_PAUSE_LEDGER`` at shared storage).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ENV_PAUSE_LEDGER = "OPSLADDER_PAUSE_LEDGER"
ANCHOR_DIR = ".opsladder-pause-ledger"


def ledger_dir() -> Path:
    """Where ledger entries live, from the environment (see the module docstring)."""
    explicit = os.environ.get(ENV_PAUSE_LEDGER)
    if explicit:
        return Path(explicit)
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(state_home) / "opsladder" / "pause-ledger"


def resolved_state_path(state: Path) -> Path:
    """``state`` in its real directory: symlinks of the directory resolved (also where the
    directory is gone: the rest is kept as written), the file's own name kept as is, so that
    deleting the file, or a symlink in its place, never changes the key."""
    absolute = os.path.abspath(state)
    directory = os.path.realpath(os.path.dirname(absolute))
    return Path(directory) / os.path.basename(absolute)


def _entry_name(state: Path) -> str:
    resolved = str(resolved_state_path(state))
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return f"{Path(resolved).name}.{digest}.json"


def ledger_entry(state: Path, directory: Path | None = None) -> Path:
    """The ledger file of the state file ``state`` (keyed by its resolved path)."""
    return (directory or ledger_dir()) / _entry_name(state)


def anchor_entry(state: Path) -> Path:
    """The anchor file of ``state``: in the parent of the state file's real directory."""
    return resolved_state_path(state).parent.parent / ANCHOR_DIR / _entry_name(state)
