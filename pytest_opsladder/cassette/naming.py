"""Deterministic, short cassette names (ladder level 0).

A name is built from the test or case id, the variant and the epoch. Characters that are unsafe
in file names become ``_``; a name that had to change, or is longer than :data:`MAX_STEM`, keeps
a readable prefix and a hash of the whole, so ids stay unique and under every filesystem's limit.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

MAX_STEM = 96
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def safe_stem(text: str) -> str:
    """``text`` itself when it is already safe and short; otherwise a readable prefix plus a
    hash of the whole, so ids that sanitize alike (``a/b``, ``a:b``) keep distinct names."""
    stem = _UNSAFE.sub("_", text).strip("._") or "_"
    if stem == text and len(stem) <= MAX_STEM:
        return stem
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return f"{stem[: MAX_STEM - 13]}-{digest}"


def cassette_filename(variant: str, epoch: int = 0, suffix: str = ".json") -> str:
    base = safe_stem(variant)
    return f"{base}{suffix}" if epoch == 0 else f"{base}.e{epoch}{suffix}"


def cassette_path(
    root: Path, case_id: str, variant: str, epoch: int = 0, suffix: str = ".json"
) -> Path:
    """``root/<case>/<variant>[.e<epoch>].json``: one directory per case, one file per run."""
    return root / safe_stem(case_id) / cassette_filename(variant, epoch, suffix)


def incomplete_path(path: Path) -> Path:
    """Where an interrupted run is kept, so the good cassette beside it stays intact."""
    return path.with_name(path.stem + ".incomplete" + path.suffix)


def error_path(path: Path) -> Path:
    """Where a run that ended badly is kept when it must not replace a good cassette."""
    return path.with_name(path.stem + ".error" + path.suffix)
