"""Which rows a DELETE's or UPDATE's condition selects (ladder level 4, destructive SQL)."""

from __future__ import annotations

from enum import StrEnum


class Rows(StrEnum):
    """Which rows a condition selects, as far as the guard can show."""

    ALL = "all"  # a tautology: every row
    NONE = "none"  # a contradiction: no row
    SOME = "some"  # limited by the table's own columns
    CONSTANT = "constant"  # refers to no row: every row or none
    UNKNOWN = "unknown"  # the guard cannot tell: ask

    @property
    def unlimited(self) -> bool:
        return self in (Rows.ALL, Rows.CONSTANT)
