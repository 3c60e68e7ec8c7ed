"""``python -m pytest_opsladder``: the ``opsladder`` command."""

from __future__ import annotations

from pytest_opsladder.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
