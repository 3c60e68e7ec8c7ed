"""The closed sets of modes: how a run gets its tool and HTTP results (ladder levels 0 and 7)."""

from __future__ import annotations

from enum import StrEnum

from pytest_opsladder.choices import parse_choice
from pytest_opsladder.exceptions import ConfigError


class _ChoiceEnum(StrEnum):
    @classmethod
    def parse(cls, value: str | _ChoiceEnum, *, setting: str) -> _ChoiceEnum:
        return parse_choice(cls, value, setting=setting, error=ConfigError)


class Mode(_ChoiceEnum):
    """``replay``: everything from cassettes, offline. ``record``: run for real and write.
    ``shadow``: re-run the agent under a candidate variant with tools replayed from the baseline."""

    REPLAY = "replay"
    RECORD = "record"
    SHADOW = "shadow"


class RecordMode(_ChoiceEnum):
    """vcrpy's record modes, plus ``rewrite`` (pytest-recording's, made safe: record anew).

    - ``none``: replay only; a missing cassette or an unrecorded call is an error.
    - ``once``: replay an existing cassette; record the run whose cassette is missing.
    - ``new_episodes``: replay what was recorded, record calls that were not, and save both.
    - ``all``: run everything live and overwrite the cassette, once the run has ended.
    - ``rewrite``: record from scratch, as ``all``: the old cassette stays until the run has
      ended, and a rewrite that fails is kept beside it as ``.error.json`` (an interrupted
      one as ``.incomplete.json``). It never deletes the cassette first.
    """

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"
    REWRITE = "rewrite"
