"""The id of a new nightmare case (ladder level 7): what ``add``, ``promote`` and ``review
--promote`` accept before anything is read or written.

A case id names its file (``<set>/<id>.yaml``) and its cassette folder, so an id the user
gives may hold no path separator and no ``..``: refused here, naming the option, the id and the
rule, rather than later naming the file the id would have been sanitised into.
"""

from __future__ import annotations

from pytest_opsladder.nightmare.case import ID_RULE, valid_id
from pytest_opsladder.nightmare.errors import CurationError


def check_case_id(case_id: object, option: str = "--id", *, dots: bool = False) -> str:
    """``case_id`` if a new case may have it; else a CurationError naming the id and the rule.
    A case id names the case's file and cassette folder: a path separator or '..' would put
    them outside the set. ``dots`` lets '..' inside an id pass (ids made from a run's case id,
    which case files allow)."""
    if valid_id(case_id) and (dots or ".." not in str(case_id)):
        return str(case_id)
    raise CurationError(
        f"{option} {case_id!r} is refused: a case id names the case's file (<set>/<id>.yaml), "
        f"so it may hold no path separator ('/' or '\\') and no '..'; {ID_RULE}. Nothing was "
        "written; choose another id."
    )
