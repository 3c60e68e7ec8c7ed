"""The second durable copy of the global pause (ladder level 6): the pause ledger.

Every ``pause`` and ``resume`` writes the state file *and* an entry in the ledger, a directory
elsewhere (``$OPSLADDER_PAUSE_LEDGER``, else ``$XDG_STATE_HOME/opsladder/pause-ledger``, else
``~/.local/state/opsladder/pause-ledger``), one file per state path. Deleting the state file or
its whole directory, or swapping in a dangling symlink, therefore loses nothing: the ledger still
shows that a pause was set, and missing state after a pause reads as paused. Hosts that share a
pause file should share the ledger too (point ``$OPSLADDER_PAUSE_LEDGER`` at shared storage).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ENV_PAUSE_LEDGER = "OPSLADDER_PAUSE_LEDGER"


def ledger_dir() -> Path:
    """Where ledger entries live, from the environment (see the module docstring)."""
    explicit = os.environ.get(ENV_PAUSE_LEDGER)
    if explicit:
        return Path(explicit)
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(state_home) / "opsladder" / "pause-ledger"


def ledger_entry(state: Path, directory: Path | None = None) -> Path:
    """The ledger file of the state file ``state`` (keyed by its absolute path)."""
    absolute = os.path.abspath(state)
    digest = hashlib.sha256(absolute.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return (directory or ledger_dir()) / f"{Path(absolute).name}.{digest}.json"
