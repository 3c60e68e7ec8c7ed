"""Cases and variants: what a run was asked, and under which prompt/model (ladder level 0)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_opsladder.capture.jsonable import canonical_json


def content_hash(text: str) -> str:
    """A short, stable fingerprint of a piece of content (sha256, 16 hex digits)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Case:
    """One input the agent is run on, identified by a stable id."""

    id: str
    input: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "input": self.input}


@dataclass(frozen=True)
class Variant:
    """A configuration of the agent: a name, a model, a prompt (text or a file path), params.

    ``prompt`` may be the prompt text itself or a path to a file holding it; relative paths are
    resolved against ``root`` (the rootdir under pytest). The content hash of the prompt is what
    identifies it, so renaming a file does not make cassettes stale but editing it does.
    """

    name: str
    model: str | None = None
    prompt: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    root: Path | None = field(default=None, compare=False)

    @property
    def prompt_text(self) -> str | None:
        if self.prompt is None:
            return None
        candidate = Path(self.prompt)
        if not candidate.is_absolute() and self.root is not None:
            candidate = self.root / candidate
        if len(self.prompt) < 512 and "\n" not in self.prompt and candidate.is_file():
            return candidate.read_text(encoding="utf-8")
        return self.prompt

    @property
    def prompt_hash(self) -> str | None:
        text = self.prompt_text
        return content_hash(text) if text is not None else None

    def fingerprint(self, tools_hash: str | None = None) -> dict[str, Any]:
        """What identifies this variant's behaviour: model, prompt hash, params, tool schemas."""
        return {
            "name": self.name,
            "model": self.model,
            "prompt_hash": self.prompt_hash,
            "params_hash": content_hash(canonical_json(self.params)),
            "tools_hash": tools_hash,
        }

    def to_dict(self, tools_hash: str | None = None) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "prompt": self.prompt,
            "params": self.params,
            "prompt_hash": self.prompt_hash,
            "tools_hash": tools_hash,
        }

    def with_root(self, root: Path) -> Variant:
        return Variant(self.name, self.model, self.prompt, dict(self.params), root)
