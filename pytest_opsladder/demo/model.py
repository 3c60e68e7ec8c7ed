"""The demo's language model: a small, deterministic, prompt-following writer.

It is not a neural network; it reads a few directives from the system prompt (``max_tags``,
``title_max``, ``summary_sentences``, ``tag_order``, ``tag_case``) and applies them to the note,
so two prompts differ measurably on some notes (many tags, long titles) and not on others
(short notes). Randomness (tie-breaks between equally frequent keywords) comes from the
request's ``seed``, so the same request always gets the same answer.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

VOCABULARY = (
    "python", "testing", "llm", "agents", "ops", "observability", "databases", "sqlite",
    "security", "devops", "kubernetes", "rust", "career", "writing", "performance", "ci",
    "git", "postgres", "redis", "cloud", "evaluation", "pytest",
)  # fmt: skip
_DIRECTIVE = re.compile(r"^\s*[-*]?\s*([a-z_]+)\s*:\s*(\S+)\s*$", re.MULTILINE)
_TAGS_LINE = re.compile(r"^\s*tags\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Directives:
    max_tags: int = 5
    title_max: int = 80
    summary_sentences: int = 2
    tag_order: str = "author"  # author | shortest
    tag_case: str = "keep"  # keep | lower

    @classmethod
    def from_prompt(cls, prompt: str) -> Directives:
        found = dict(_DIRECTIVE.findall(prompt))
        ints = {
            k: int(found[k]) for k in ("max_tags", "title_max", "summary_sentences") if k in found
        }
        strs = {k: found[k] for k in ("tag_order", "tag_case") if k in found}
        return cls(**ints, **strs)  # type: ignore[arg-type]


def write_post(note: str, prompt: str, seed: int) -> dict[str, Any]:
    """Title, summary and tags for a markdown note, as the prompt directs."""
    rules = Directives.from_prompt(prompt)
    rng = random.Random(f"{seed}:{note}")
    return {
        "title": _title(note, rules.title_max),
        "summary": _summary(note, rules.summary_sentences),
        "tags": _tags(note, rules, rng),
    }


def _title(note: str, limit: int) -> str:
    lines = [ln.strip() for ln in note.splitlines() if ln.strip()]
    heading = next((ln.lstrip("#").strip() for ln in lines if ln.startswith("#")), None)
    title = heading or (lines[0] if lines else "Untitled")
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0].rstrip(" ,:;-")
    return cut or title[:limit]


def _body(note: str) -> str:
    keep = [
        ln
        for ln in note.splitlines()
        if ln.strip() and not ln.lstrip().startswith("#") and not _TAGS_LINE.match(ln)
    ]
    return " ".join(ln.strip() for ln in keep)


def _summary(note: str, sentences: int) -> str:
    parts = [p for p in _SENTENCE.split(_body(note)) if p]
    return " ".join(parts[: max(1, sentences)]) or "No summary."


def _tags(note: str, rules: Directives, rng: random.Random) -> list[str]:
    declared = _TAGS_LINE.search(note)
    if declared:
        tags = [t.strip() for t in declared.group(1).split(",") if t.strip()]
    else:
        tags = _keywords(note, rng)
    if rules.tag_order == "shortest":
        tags = sorted(tags, key=len)
    if rules.tag_case == "lower":
        tags = [t.lower() for t in tags]
    return tags[: rules.max_tags]


def _keywords(note: str, rng: random.Random) -> list[str]:
    words = Counter(re.findall(r"[a-z]+", note.lower()))
    found = [w for w in VOCABULARY if words[w]]
    rng.shuffle(found)  # the seed decides ties, as sampling would
    return sorted(found, key=lambda w: -words[w])


def count_tokens(text: str) -> int:
    """A rough token count: words and punctuation runs."""
    return len(re.findall(r"\w+|[^\w\s]+", text))
