"""Trajectory match modes (ladder level 7): a closed set the gate config parses.

Kept apart from :mod:`.distances` so reading the gate configuration imports no numpy.
"""

from __future__ import annotations

from enum import StrEnum

from pytest_opsladder.choices import parse_choice


class MatchMode(StrEnum):
    """How a candidate trajectory is compared with the baseline's."""

    STRICT = "strict"  # same tools in the same order
    UNORDERED = "unordered"  # same multiset of tools, any order
    SUBSET = "subset"  # the candidate calls nothing the baseline did not
    SUPERSET = "superset"  # the candidate calls everything the baseline did

    @classmethod
    def parse(cls, value: object) -> MatchMode:
        return parse_choice(cls, value, setting="match mode", error=ValueError)
