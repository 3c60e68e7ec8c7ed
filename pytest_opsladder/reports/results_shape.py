"""The nested shape of a results JSON the reports draw from (docs/results-schema.md, level 7).

:mod:`.results_file` checks the top-level keys; this checks the containers inside them that
the renderers iterate or look into (a case's runs and trajectories, a metric's effect, the
plots' distributions, the provenance). Every one is optional, and a leaf value of another type
shows as "n/a"; but a container of the wrong type (``"runs": 3``, ``"fingerprint": "x"``,
``"diagnostics": [5]``) once failed inside a template with a traceback. It is refused here,
naming the JSON path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_opsladder.reports.errors import ResultsFileError

# A dict is an object whose listed keys have those shapes ("*": every value); [shape] is a
# list whose every item has that shape; a type is the type of a leaf container. Absent and
# null are always accepted, except as a list item.
Shape = dict[str, Any] | list[Any] | type | tuple[type, ...]

_RUN: Shape = {"trajectory": [dict], "failed_checks": list, "judges": [dict], "metrics": dict}
_SIDE: Shape = {"runs": [_RUN]}
SHAPE: dict[str, Shape] = {
    "baseline": {"fingerprint": dict},
    "candidate": {"fingerprint": dict},
    "provenance": {"git": dict, "packages": dict},
    "epochs": dict,
    "metrics": [{"effect": dict, "baseline_summary": dict, "candidate_summary": dict}],
    "cases": [
        {
            "baseline": _SIDE,
            "candidate": _SIDE,
            "first_divergence": {"baseline": dict, "candidate": dict},
        }
    ],
    "distributions": {"*": {"baseline": list, "candidate": list}},
    "aa_noise_floor": {"epochs_split": list, "metrics": [dict]},
    "diagnostics": [dict],
    "cases_lost": dict,
}

_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def check_shape(results: dict[str, Any], where: str, path: Path | str | None) -> None:
    """Raise :class:`ResultsFileError` naming the first container of the wrong type."""
    _check_object(results, SHAPE, "", where, path)


def _check_object(
    value: dict[str, Any], shape: dict[str, Shape], at: str, where: str, path: Any
) -> None:
    for key, inner in shape.items():
        keys = list(value) if key == "*" else [key]
        for name in keys:
            item = value.get(name)
            if item is not None:
                _check(item, inner, f"{at}{'.' if at else ''}{name}", where, path)


def _check(value: Any, shape: Shape, at: str, where: str, path: Any) -> None:
    if isinstance(shape, dict):
        _expect(value, dict, at, where, path)
        _check_object(value, shape, at, where, path)
    elif isinstance(shape, list):
        _expect(value, list, at, where, path)
        for i, item in enumerate(value):
            _check(item, shape[0], f"{at}[{i}]", where, path)
    else:
        _expect(value, shape, at, where, path)


def _expect(value: Any, kind: type | tuple[type, ...], at: str, where: str, path: Any) -> None:
    if isinstance(value, kind) and not isinstance(value, bool):
        return
    kinds = kind if isinstance(kind, tuple) else (kind,)
    expected = " or ".join(_NAMES.get(k, k.__name__) for k in kinds)
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    raise ResultsFileError(
        f"{where!r}: key {at!r} is {shown}; it must be {expected} or absent (see "
        "docs/results-schema.md). Re-run `opsladder merge` to regenerate the file, or remove "
        "the key.",
        path=path,
        key=at,
    )
