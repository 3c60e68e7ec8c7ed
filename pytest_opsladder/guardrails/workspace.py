"""Is a path inside the workspace? (ladder level 4: argument constraints and shell paths).

Paths are resolved the way the operating system will resolve them: relative to the workspace,
``..`` collapsed and symlinks followed (``os.path.realpath``), so ``link/../../etc`` and a
symlink that points out of the workspace are both outside.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Workspace:
    """The directory an agent may touch, plus extra allowed roots (already resolved)."""

    root: str
    extra: tuple[str, ...] = ()

    @classmethod
    def at(cls, root: str | os.PathLike[str], extra: Sequence[str] = ()) -> Workspace:
        return cls(os.path.realpath(root), tuple(os.path.realpath(p) for p in extra))

    def resolve(self, value: str) -> str:
        """Where ``value`` leads, symlinks followed (the result of ``os.path.realpath``)."""
        if "\x00" in value:  # the OS would refuse it; realpath raises on it
            return "<a path with a NUL byte>"
        parts = value.split(os.sep)
        if os.path.isabs(value) or ".." in parts:
            return os.path.realpath(os.path.join(self.root, value))
        return self._below_root(value, parts)

    def _below_root(self, value: str, parts: list[str]) -> str:
        # The root is already real: without "..", only a symlink under it can lead elsewhere,
        # so one lstat per component replaces realpath's walk from "/" (the hot path).
        path = self.root.rstrip(os.sep)
        for part in parts:
            if part in ("", "."):
                continue
            path = f"{path}{os.sep}{part}"
            if os.path.islink(path):
                return os.path.realpath(os.path.join(self.root, value))
        return path or os.sep

    def contains(self, value: str) -> bool:
        """True when ``value`` (absolute, or relative to the root) resolves inside."""
        if "\x00" in value:
            return False
        target = self.resolve(value)
        return any(_within(target, base) for base in (self.root, *self.extra))


def _within(target: str, base: str) -> bool:
    return target == base or target.startswith(base.rstrip(os.sep) + os.sep)
