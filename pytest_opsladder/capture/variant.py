"""Cases and variants: what a run was asked, and under which prompt/model (ladder level 0)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_opsladder.capture.jsonable import canonical_json
from pytest_opsladder.exceptions import ConfigError


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


# The suffixes of prompt files: a prompt given as one word with one of these is a path.
_PROMPT_SUFFIXES = frozenset(
    {".md", ".txt", ".prompt", ".j2", ".jinja", ".jinja2", ".yaml", ".yml", ".json", ".tmpl"}
)


def _names_a_file(prompt: str) -> bool:
    """Whether ``prompt`` is written as a path (one word, with a separator or a prompt file's
    suffix): prompt texts have spaces; ``prompts/v2.md`` has none."""
    if not prompt or len(prompt) >= 512 or any(c.isspace() for c in prompt):
        return False
    return "/" in prompt or "\\" in prompt or Path(prompt).suffix.lower() in _PROMPT_SUFFIXES


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
        if self.root is not None and _names_a_file(self.prompt):  # a configured variant's
            raise ConfigError(  # path that is not there: never sent as the prompt itself
                f"variant {self.name!r}: prompt {self.prompt!r} names a file, but there is no "
                f"file at {candidate}. Fix: correct the path (relative paths are read from the "
                f"rootdir, {self.root}), or give the prompt's text itself."
            )
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
