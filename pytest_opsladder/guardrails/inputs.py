"""Input restrictions (ladder level 4): what may reach the agent from outside.

An agent that reads untrusted text (a web page, an email, a tool result) can be steered by it;
the control belongs to the runtime, not to the prompt. Each piece of input is checked for size,
source (an allow-list of hosts or source names) and content (instructions embedded in fetched
content), and every decision is recorded in the run as a ``guardrail_input`` event.

A policy's own ``extra_patterns`` run with a time bound: a pattern that backtracks
catastrophically (``(a+)+$`` on a long run of ``a``) would otherwise hold the agent for
minutes on one input, and the input is the attacker's to choose. They run under the
``regex`` package's ``timeout=``, all of them together within :data:`PATTERN_BUDGET_S`
seconds per input; a pattern that does not finish in time is a decision of its own
(``input:pattern-timeout``), at least ``ask``, never a silent pass.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pytest_opsladder.guardrails.verdicts import Decision, Verdict

if TYPE_CHECKING:
    import regex

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


# Seconds all of a policy's extra_patterns may take on one input, together. The regex
# package checks its clock while it backtracks: it stops within a small multiple of this.
PATTERN_BUDGET_S = 0.05


@cache
def compile_user_pattern(pattern: str) -> regex.Pattern[str]:
    """A policy's pattern as it runs (re-compatible syntax); raises ``regex.error``. The
    package is imported here: only a policy with patterns of its own pays for it (8 ms)."""
    import regex

    return regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)


@dataclass(frozen=True, slots=True)
class InputRules:
    """Limits on untrusted input; ``sources`` empty means every source is allowed.

    ``patterns`` are the built-in phrases (run with :mod:`re`); ``extra_patterns`` are the
    policy's own, run with a time bound (see the module docstring).
    """

    max_chars: int = 100_000
    sources: tuple[str, ...] = ()
    instructions: Verdict = Verdict.ASK
    patterns: tuple[str, ...] = EMBEDDED_INSTRUCTIONS
    invisible: Verdict = Verdict.ASK
    extra_patterns: tuple[str, ...] = ()
    budget_s: float = PATTERN_BUDGET_S
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

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
        found = self._builtin(text) or self._extra(text, source)
        if isinstance(found, Decision):
            out.append(found)
        elif found is not None:
            why = f"{source!r} contains instructions to the model: {found!r}"
            out.append(Decision(self.instructions, "input:embedded-instructions", why))
        hidden = next((c for c in text if c in _INVISIBLE), None)
        if hidden is not None:
            why = f"{source!r} contains the invisible character U+{ord(hidden):04X}"
            out.append(Decision(self.invisible, "input:invisible-characters", why))
        return out

    def _builtin(self, text: str) -> str | None:
        for pattern in self.patterns:
            found = re.search(pattern, text, re.IGNORECASE)
            if found:
                return found.group(0)
        return None

    def _extra(self, text: str, source: str) -> str | Decision | None:
        """The first match of a policy pattern, or the decision for one that ran out of time."""
        deadline = self.clock() + self.budget_s
        for index, pattern in enumerate(self.extra_patterns):
            left = deadline - self.clock()
            try:
                if left <= 0:
                    raise TimeoutError
                found = compile_user_pattern(pattern).search(text, timeout=left)
            except TimeoutError:
                return self._timed_out(index, pattern, source)
            if found:
                return found.group(0)
        return None

    def _timed_out(self, index: int, pattern: str, source: str) -> Decision:
        why = (
            f"[inputs] extra_patterns[{index}] {pattern!r} did not finish on {source!r} within"
            f" {self.budget_s:g}s (all extra_patterns share that time per input), so the input"
            " was not screened; rewrite the pattern without nested or overlapping repetition"
            " (use '(a+)$' for '(a+)+$', or an atomic group '(?>...)' or a possessive '++')"
        )
        verdict = Verdict.DENY if self.instructions is Verdict.DENY else Verdict.ASK  # fail closed
        return Decision(verdict, "input:pattern-timeout", why)


_INVISIBLE = set(
    "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_INVISIBLE |= {chr(c) for c in range(0xE0000, 0xE0080)}  # Unicode tag characters


def _source_allowed(source: str, allowed: tuple[str, ...]) -> bool:
    host = urlsplit(source).hostname if "://" in source else None
    names = [source] + ([host] if host else [])
    return any(fnmatch.fnmatchcase(n, p) for n in names for p in allowed)
