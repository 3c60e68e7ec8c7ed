"""The credential scanner, applied to recorded HTTP interactions (ladder level 0).

Scrubbing handles the places credentials are expected (headers, query). This catches the rest:
a key echoed in a response, a token in a request body, a key split across stream chunks. It is
the whole-run scanner of :mod:`pytest_opsladder.secrets` (one engine, one pattern registry)
applied to ``run.http``; each finding names the interaction and the JSON path inside it.
Strings that only look like credentials are allowed with ``opsladder_config['secrets_allow']``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pytest_opsladder import secrets
from pytest_opsladder.observability.redaction import registered_patterns

# The registry's patterns, by their human names (kept for callers that list what is detected).
PATTERNS: dict[str, re.Pattern[str]] = {
    secrets.label(name): pattern for name, pattern in registered_patterns().items()
}


@dataclass(frozen=True)
class Finding:
    """A credential found at ``path`` of interaction ``index``."""

    index: int
    path: str
    kind: str
    sample: str  # the first characters only: the report itself must not leak the secret


def scan(http: list[dict[str, Any]], allow: tuple[re.Pattern[str], ...] = ()) -> list[Finding]:
    """Every credential in ``http`` that no allow pattern covers."""
    found: list[Finding] = []
    for index, item in enumerate(http):
        for f in secrets.scan(item, allow, root=("$", "http", index)):
            found.append(Finding(index, f.path, secrets.label(f.kind), f.sample))
    return found
