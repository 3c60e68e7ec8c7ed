"""Input restrictions (ladder level 4): what may reach the agent from outside.

An agent that reads untrusted text (a web page, an email, a tool result) can be steered by it;
the control belongs to the runtime, not to the prompt. Each piece of input is checked for size,
source (an allow-list of hosts or source names) and content (instructions embedded in fetched
content), and every decision is recorded in the run as a ``guardrail_input`` event.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pytest_opsladder.guardrails.verdicts import Decision, Verdict

# Phrases that address the model rather than the reader: the usual shape of a prompt injection.
EMBEDDED_INSTRUCTIONS = (
    r"\bignore (all |any )?(the )?(previous|prior|above|earlier) (instructions|prompts?|rules)",
    r"\bdisregard (all |any )?(the )?(previous|prior|above|system) ",
    r"\byou are now\b",
    r"\b(new|updated) (system )?instructions?\s*:",
    r"<\s*/?\s*(system|assistant|im_start|im_end)\s*>",
    r"\b(system|developer) prompt\b",
    r"\bdo not (tell|inform) the user\b",
)


@dataclass(frozen=True, slots=True)
class InputRules:
    """Limits on untrusted input; ``sources`` empty means every source is allowed."""

    max_chars: int = 100_000
    sources: tuple[str, ...] = ()
    instructions: Verdict = Verdict.ASK
    patterns: tuple[str, ...] = EMBEDDED_INSTRUCTIONS
    invisible: Verdict = Verdict.ASK

    def check(self, text: str, source: str) -> list[Decision]:
        """Every restriction ``text`` from ``source`` breaks (empty: it may pass)."""
        out: list[Decision] = []
        if len(text) > self.max_chars:
            why = f"{len(text)} characters from {source!r}, over the limit {self.max_chars}"
            out.append(Decision(Verdict.DENY, "input:size", why))
        if self.sources and not _source_allowed(source, self.sources):
            why = f"source {source!r} is not in the allow-list {list(self.sources)}"
            out.append(Decision(Verdict.DENY, "input:source", why))
        out += self._content(text[: self.max_chars], source)
        return out

    def _content(self, text: str, source: str) -> list[Decision]:
        out = []
        for pattern in self.patterns:
            found = re.search(pattern, text, re.IGNORECASE)
            if found:
                why = f"{source!r} contains instructions to the model: {found.group(0)!r}"
                out.append(Decision(self.instructions, "input:embedded-instructions", why))
                break
        hidden = next((c for c in text if c in _INVISIBLE), None)
        if hidden is not None:
            why = f"{source!r} contains the invisible character U+{ord(hidden):04X}"
            out.append(Decision(self.invisible, "input:invisible-characters", why))
        return out


_INVISIBLE = set(
    "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_INVISIBLE |= {chr(c) for c in range(0xE0000, 0xE0080)}  # Unicode tag characters


def _source_allowed(source: str, allowed: tuple[str, ...]) -> bool:
    host = urlsplit(source).hostname if "://" in source else None
    names = [source] + ([host] if host else [])
    return any(fnmatch.fnmatchcase(n, p) for n in names for p in allowed)
