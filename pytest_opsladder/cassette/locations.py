"""Where a plain pytest test's cassettes live (ladder level 0): one directory per test.

A test is named by its node id within its module (``TestA.test_x[1]``: the class is part of
it, so ``TestA::test_x`` and ``TestB::test_x`` do not share a cassette), and under a configured
cassette dir by its module's path from the rootdir (``tests/a/test_mod.py`` and
``tests/b/test_mod.py`` do not share one either). A cassette recorded before this layout, at
the place the old one named, is still read and updated when it is this test's own recording
(its case id is this test's), never when another test's run is there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_opsladder._json import parse
from pytest_opsladder.cassette.naming import cassette_path, safe_stem

# ``--opsladder-epochs K`` parametrizes each recording test K times through this autouse fixture
# (indirectly, so no fixture is added): the items are ``test_x[1-e0]`` .. ``test_x[1-e2]``.
EPOCH_PARAM = "_opsladder_marked"


def epoch_of(item: pytest.Item) -> int | None:
    """The epoch ``--opsladder-epochs`` gave this item, None when it did not repeat it."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or EPOCH_PARAM not in callspec.params:
        return None
    return int(callspec.params[EPOCH_PARAM])


def without_epoch(item: pytest.Item, text: str) -> str:
    """``text`` (the item's node id or name) without the id its epoch added: every epoch of a
    test is the same case, in one cassette directory."""
    epoch = epoch_of(item)
    if epoch is None:
        return text
    tag = f"e{epoch}]"
    if text.endswith(f"[{tag}"):
        return text[: -len(tag) - 1]
    if text.endswith(f"-{tag}"):
        return text[: -len(tag) - 1] + "]"
    return text


def test_name(item: pytest.Item) -> str:
    """The test's node id within its module, classes joined by dots: ``TestA.test_x[1]``.

    Only the path is joined: a parameter id keeps its ``::`` (``test_x[std::vector]`` and
    ``test_x[std.vector]`` are two tests, and were one cassette)."""
    _, sep, inner = without_epoch(item, item.nodeid).partition("::")
    if not sep:
        return without_epoch(item, item.name)
    path, bracket, params = inner.partition("[")
    return path.replace("::", ".") + bracket + params


def earlier_test_name(item: pytest.Item) -> str | None:
    """The name the layout before :func:`test_name` gave the test (``::`` joined in its
    parameter id too), when it differs: its cassette there is still read while it is its own."""
    _, sep, inner = without_epoch(item, item.nodeid).partition("::")
    earlier = inner.replace("::", ".")
    return earlier if sep and earlier != test_name(item) else None


def module_dir(base: Path, item: pytest.Item, rootdir: Path) -> Path:
    """``base`` / the module's path from the rootdir, without its suffix (its stem alone for
    a module outside the rootdir)."""
    try:
        parts = item.path.with_suffix("").relative_to(rootdir).parts
    except ValueError:
        parts = (item.path.stem,)
    return base.joinpath(*(safe_stem(part) for part in parts))


def own_or_new(new: Path, old: Path, case_id: str | None) -> Path:
    """``old`` when a cassette is recorded there and none at ``new`` yet, and (unless
    ``case_id`` is None: no other test could have written there) it is this test's."""
    if new == old or new.exists() or not old.is_file():
        return new
    return old if case_id is None or recorded_case(old) == case_id else new


def recorded_case(path: Path) -> str | None:
    """The case id of the run recorded at ``path`` (None when it cannot be read: the caller
    then leaves the file alone)."""
    try:
        run = parse(path.read_text(encoding="utf-8")).get("run", {})
        case = run.get("case", {}).get("id")
    except (OSError, ValueError, AttributeError):
        return None
    return case if isinstance(case, str) else None


def own_or_earlier(new: Path, item: pytest.Item, case_id: str) -> Path:
    """``new``, or the cassette recorded at the test's :func:`earlier_test_name` in the same
    directory when it is this test's own and none is at ``new`` yet."""
    earlier = earlier_test_name(item)
    if earlier is None:
        return new
    return own_or_new(new, new.parent.parent / safe_stem(earlier) / new.name, case_id)


def legacy_path(root: Path, item: pytest.Item, variant: str, epoch: int) -> Path:
    """Where the layout before this one put the test's cassette: under its bare name."""
    return cassette_path(root, without_epoch(item, item.name), variant, epoch)
