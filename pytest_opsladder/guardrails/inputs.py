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
(``input:pattern-timeout``), at least ``ask``, never a silent pass. The budget is for the
whole content screen: a policy with patterns of its own runs the built-in phrases under the
same deadline (they took a tenth of a second of their own on a long input, before the
policy's patterns started their clock). Without such patterns the built-in phrases run with
:mod:`re`; each is linear in the input.
"""

from __future__ import annotations

import fnmatch
import re
import threading
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
    # One optional slash between spaces: ``<\s*/?\s*`` split a run of spaces between its two
    # ``\s*`` in every way, a quadratic search ("<" and 100,000 spaces took six minutes).
    # Atomic runs of spaces (nothing after them is a space): linear, without backtracking.
    r"<(?>\s*)(?:/(?>\s*))?(system|assistant|im_start|im_end)\s*>",
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
        found = self._builtin(text) if not self.extra_patterns else self._bounded(text, source)
        if isinstance(found, Decision):
            out.append(found)
        elif found is not None:
            why = f"{source!r} contains instructions to the model: {found!r}"
            out.append(Decision(self.instructions, "input:embedded-instructions", why))
        hidden = _INVISIBLE_CHAR.search(text)  # not a Python loop: 40 ms a million characters
        if hidden is not None:
            why = f"{source!r} contains the invisible character U+{ord(hidden.group(0)):04X}"
            out.append(Decision(self.invisible, "input:invisible-characters", why))
        return out

    def _builtin(self, text: str) -> str | None:
        for pattern in self.patterns:
            found = re.search(pattern, text, re.IGNORECASE)
            if found:
                return found.group(0)
        return None

    def _bounded(self, text: str, source: str) -> str | Decision | None:
        """The first match of a built-in phrase or a policy pattern, all of them within one
        deadline, or the decision for the pattern that ran out of time.

        The regex package's ``timeout=`` counts the process's CPU time: on a busy machine the
        wall clock ran on to 2.5 times the budget. The search runs in a thread of its own
        (``concurrent=True`` lets go of the GIL) and the caller waits the budget on the wall
        clock; a search still running then ends by its own CPU bound, its result unused.
        """
        deadline = self.clock() + self.budget_s
        named = [(f"the built-in phrase {p!r}", p) for p in self.patterns]
        named += [
            (f"[inputs] extra_patterns[{i}] {p!r}", p) for i, p in enumerate(self.extra_patterns)
        ]
        search = _Search(named, text, deadline, self.clock)
        worker = threading.Thread(target=search.run, name="opsladder-input-screen", daemon=True)
        worker.start()
        worker.join(self.budget_s)
        if worker.is_alive() or search.timed_out:
            return self._timed_out(search.current, source)
        return search.found

    def _timed_out(self, name: str, source: str) -> Decision:
        why = (
            f"{name} did not finish on {source!r} within {self.budget_s:g}s (the built-in"
            " phrases and all extra_patterns share that time per input), so the input was not"
            " screened; rewrite the pattern without nested or overlapping repetition"
            " (use '(a+)$' for '(a+)+$', or an atomic group '(?>...)' or a possessive '++')"
            " or lower [inputs] max_chars"
        )
        verdict = Verdict.DENY if self.instructions is Verdict.DENY else Verdict.ASK  # fail closed
        return Decision(verdict, "input:pattern-timeout", why)


class _Search:
    """The patterns in turn against one input, each within what is left of the deadline."""

    def __init__(
        self, named: list[tuple[str, str]], text: str, deadline: float, clock: Callable[[], float]
    ) -> None:
        self.named, self.text, self.deadline, self.clock = named, text, deadline, clock
        self.current = named[0][0]
        self.found: str | None = None
        self.timed_out = False

    def run(self) -> None:
        for name, pattern in self.named:
            self.current = name
            left = self.deadline - self.clock()
            try:
                if left <= 0:
                    raise TimeoutError
                found = compile_user_pattern(pattern).search(
                    self.text, timeout=left, concurrent=True
                )
            except TimeoutError:
                self.timed_out = True
                return
            if found:
                self.found = found.group(0)
                return


_INVISIBLE = set(
    "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_INVISIBLE |= {chr(c) for c in range(0xE0000, 0xE0080)}  # Unicode tag characters
_INVISIBLE_CHAR = re.compile(  # as ranges: a class of each character searched 15 times slower
    "[\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]"
)


def _source_allowed(source: str, allowed: tuple[str, ...]) -> bool:
    host = urlsplit(source).hostname if "://" in source else None
    names = [source] + ([host] if host else [])
    return any(fnmatch.fnmatchcase(n, p) for n in names for p in allowed)
