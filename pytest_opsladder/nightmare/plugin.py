"""Collecting nightmare-set case files as pytest items (ladder level 7).

Each YAML file under the nightmare dir becomes one test item named after the case id; its tags
are keywords, so ``-k billing`` selects by tag. The item runs the user's ``opsladder_agent`` on
the case input inside the ``opsladder_run`` run (recorded, replayed or shadowed by mode) and
fails with every check that did not hold. ``--opsladder-tag TAG`` (repeatable) keeps only the
cases carrying one of the tags and deselects every other item.
"""

from __future__ import annotations

import gc
import os
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder._gc import collection_paused
from pytest_opsladder.capture.jsonable import to_jsonable
from pytest_opsladder.capture.run import Run
from pytest_opsladder.capture.variant import Case
from pytest_opsladder.drift.shadow import ShadowStopRun
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.nightmare.case import CaseFormatError, NightmareCase, is_case_file, load_case
from pytest_opsladder.nightmare.checks import evaluate
from pytest_opsladder.stash_keys import (
    CASE_KEY,
    EPOCH_KEY,
    NIGHTMARE_CASE,
    PREFETCH_ERROR_KEY,
    SETTINGS_KEY,
)

SEEN_IDS = pytest.StashKey[dict[str, Path]]()
FIXTURE_INFO = pytest.StashKey[Any]()
OPT_TAG = "--opsladder-tag"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("opsladder")
    group.addoption(
        OPT_TAG,
        dest="opsladder_tags",
        action="append",
        default=[],
        metavar="TAG",
        help="run only the nightmare cases tagged TAG (repeat for any of several tags); "
        "-k TAG also matches tags",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SEEN_IDS] = {}


# From this many cases on, the collected items are frozen out of the cyclic GC's view.
LARGE_SET = 1000


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Any:
    """Build a large nightmare set without the cyclic GC rescanning it as it grows.

    10,000 cases make tens of thousands of nodes that live all session: with the GC on, every
    generation-2 pass walks them all again (about two thirds of a 10,000-case --collect-only).
    After a large collection, one full pass clears what collection left behind and the items
    are frozen (gc.freeze), so later passes skip them too.
    """
    try:
        with collection_paused():
            return (yield)
    finally:
        if _count_cases(session.items, LARGE_SET) >= LARGE_SET:
            gc.collect()
            gc.freeze()


def _count_cases(items: list[pytest.Item], limit: int) -> int:
    """How many of ``items`` are nightmare cases, counting up to ``limit``."""
    count = 0
    for item in items:
        if NIGHTMARE_CASE in item.stash:
            count += 1
            if count >= limit:
                break
    return count


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("opsladder_tags") or ())
    if not wanted:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        case = item.stash.get(NIGHTMARE_CASE, None)
        (keep if case is not None and wanted & set(case.tags) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def missing_baseline_message(item: pytest.Item) -> str | None:
    """In replay, why a case cannot run without its baseline cassette, and how to record it.

    The run fixture fails the case's setup with it, after the case's other fixtures had their
    turn: an ``opsladder_agent`` fixture that fails is the error to show first."""
    case = item.stash.get(NIGHTMARE_CASE, None)
    if case is None:
        return None
    from pytest_opsladder.fixtures import cassette_for
    from pytest_opsladder.nightmare.replay_check import missing_cassette_message, replays

    settings = item.config.stash[SETTINGS_KEY]
    if not replays(settings):
        return None
    try:
        variant = settings.run_variant
    except ConfigError:
        return None  # the run fixture reports an unknown variant as a usage error
    path = cassette_for(item, item.stash[CASE_KEY], variant, settings, {})
    return missing_cassette_message(case, path, variant.name, settings.rootdir)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:

    root = parent.config.stash[SETTINGS_KEY].nightmare_dir
    if is_case_file(file_path, root) and not isinstance(parent, NightmareDir):
        return NightmareFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:

    root = parent.config.stash[SETTINGS_KEY].nightmare_dir
    if path == root or (path.is_relative_to(root) and is_case_file(path / "x.yaml", root)):
        return NightmareDir.from_parent(parent, path=path)
    return None


class NightmareDir(pytest.Directory):
    """The nightmare dir: case files become :class:`NightmareFile` directly.

    pytest's own directory collector asks every plugin about every file (ignore? collect?);
    for a set of 10,000 cases, and the cassette folders beside them, that dominated collection.
    Here ``cassettes/``, ``history/`` and ``retired/`` are never walked, case files skip the
    per-file hooks (unless --ignore/--ignore-glob is given), and other files get them as usual.

    Case files are also collected here, their items returned in the directory's report:
    pytest's round for each file (collectstart, a collect report made under output capture,
    collectreport) cost as much as a case's item. Only while that round would do nothing with
    a case file's passing report (see :meth:`_collects_directly`). From the first entry that
    goes through pytest's own round (a file that fails to collect, or failed last time, a
    subfolder, a Python file), every later entry does too, in order: collection errors, -x,
    duplicate ids and imports happen as they always did.
    """

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:

        root = self.config.stash[SETTINGS_KEY].nightmare_dir
        ignoring = bool(self.config.getoption("ignore") or self.config.getoption("ignore_glob"))
        cases_here = is_case_file(self.path / "x.yaml", root)  # what is_case_file says of each
        direct = self._collects_directly()
        failed_last_time = self._failed_last_time() if direct else set()
        collected: list[pytest.Item | pytest.Collector] = []
        collected_directly: list[NightmareFile] = []  # their items start `collected`
        direct_items = 0
        for entry in sorted(os.scandir(self.path), key=lambda e: e.name):
            path = self.path / entry.name  # as Path(entry.path), without parsing the folder again
            if _is_dir(entry):
                for collector in self._subdir(path, root):
                    direct = False
                    collected.append(collector)
            elif cases_here and _yaml_suffix(entry.name):
                if ignoring and self._ignored(path):
                    continue
                case_file = NightmareFile.from_parent(self, path=path, name=entry.name)
                if direct and case_file.nodeid not in failed_last_time:
                    try:
                        items = list(case_file.collect())
                    except Exception:  # pytest collects it again, and reports the error
                        pass
                    else:
                        collected += items
                        collected_directly.append(case_file)
                        direct_items += len(items)
                        continue
                direct = False
                collected.append(case_file)
            elif _is_file(entry) and not self._ignored(path):
                for collector in self.ihook.pytest_collect_file(file_path=path, parent=self):
                    direct = False
                    collected.append(collector)
        if not direct and collected_directly and self.config.getoption("maxfail"):
            # pytest stops at the first collector after a failing one, and a file's items count
            # as collected once its own report is made: with entries of pytest's own round
            # ahead, each earlier file gets its round too, as it always did
            collected[:direct_items] = collected_directly
        yield from collected

    def _collects_directly(self) -> bool:
        """Whether pytest's round for a case file would do nothing with its passing report:
        every implementation of its hooks is one of :data:`INERT_COLLECT_HOOKS` (a conftest or
        plugin with its own turns this off), no command-line argument points inside this
        directory (pytest picks its children by path) and --keep-duplicates is off (pytest
        collects a repeated file again)."""
        initial = getattr(self.session, "_initialpaths", None)
        if initial is None or any(p != self.path and p.is_relative_to(self.path) for p in initial):
            return False
        if self.config.getoption("keepduplicates"):
            return False
        return _inert(self.ihook)

    def _failed_last_time(self) -> set[str]:
        """Node ids in --lf's memory: a case file among them goes through pytest's round, whose
        report tells that memory it collects now. A copy, taken before the loop: pytest updates
        that dict as collection reports come in, and read in place a fixed file's entry was
        left behind (test_a_file_that_failed_to_collect_leaves_last_failed_once_fixed)."""
        last_failed = getattr(self.config.pluginmanager.get_plugin("lfplugin"), "lastfailed", {})
        return {str(node_id) for node_id in last_failed}

    def _subdir(self, path: Path, root: Path) -> Iterator[pytest.Collector]:
        if not is_case_file(path / "x.yaml", root) or self._ignored(path):
            return
        collector = self.ihook.pytest_collect_directory(path=path, parent=self)
        if collector is not None:
            yield collector

    def _ignored(self, path: Path) -> bool:
        return bool(self.ihook.pytest_ignore_collect(collection_path=path, config=self.config))


# pytest's (and xdist's) implementations of the per-file collection hooks, none of which does
# anything with a case file's passing report that the directory's report does not do: stop on
# -x/maxfail (no report has failed yet), collect (done here), capture output (case files print
# nothing), load a Directory's conftest, count items (the directory's report has them), record
# errors, and --lf's memory of files that failed (those files go the usual way).
INERT_COLLECT_HOOKS = frozenset(
    {
        "_pytest.main:Session.pytest_collectstart",
        "_pytest.main:Session.pytest_runtest_logreport",  # its pytest_collectreport
        "_pytest.runner:pytest_make_collect_report",
        "_pytest.capture:CaptureManager.pytest_make_collect_report",
        "_pytest.fixtures:FixtureManager.pytest_make_collect_report",
        "_pytest.terminal:TerminalReporter.pytest_collectreport",
        "_pytest.junitxml:LogXML.pytest_collectreport",
        "_pytest.cacheprovider:LFPlugin.pytest_collectreport",
        "xdist.remote:WorkerInteractor.pytest_collectreport",
        "xdist.looponfail:WorkerFailSession.pytest_collectreport",
    }
)
_COLLECT_HOOKS = ("pytest_collectstart", "pytest_make_collect_report", "pytest_collectreport")


def _inert(hooks: Any) -> bool:
    for name in _COLLECT_HOOKS:
        for impl in getattr(hooks, name).get_hookimpls():
            function = impl.function
            where = f"{getattr(function, '__module__', '')}:{getattr(function, '__qualname__', '')}"
            if where not in INERT_COLLECT_HOOKS:
                return False
    return True


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """``entry.is_dir()``, False for a symlink that loops (which raises): a case file named
    so is then read, and refused with its path; any other file is skipped, as pytest does."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _yaml_suffix(name: str) -> bool:
    """``Path(name).suffix in (".yaml", ".yml")``, without making a Path."""
    dot = name.rfind(".")
    return 0 < dot < len(name) - 1 and name[dot:] in (".yaml", ".yml")


class NightmareFile(pytest.Module):
    """One case file; collects to one item.

    A :class:`pytest.Module` (with a stand-in module object, never importing the YAML), so that
    module-, class- and package-scoped fixtures, autouse or not, resolve for case items as for
    any test: pytest looks up a module-scoped fixture's node as the item's ``Module`` parent,
    and plugins with module-scoped autouse fixtures (pytest-recording ...) broke a plain File.
    """

    def _getobj(self) -> types.ModuleType:
        module = types.ModuleType(f"opsladder_nightmare.{self.path.stem}")
        module.__file__ = str(self.path)
        return module

    def collect(self) -> Iterator[pytest.Item]:
        try:
            case = load_case(self.path, resolve_targets=True)
        except ConfigError as exc:
            raise self.CollectError(str(exc)) from None
        self._claim_id(case)

        epochs = self.config.stash[SETTINGS_KEY].epochs
        for epoch in range(epochs):
            name = case.id if epochs == 1 else f"{case.id}[e{epoch}]"
            item = pytest.Function.from_parent(
                self, name=name, callobj=_run_nightmare_case, fixtureinfo=self._fixtureinfo()
            )
            item.stash[NIGHTMARE_CASE] = case
            item.stash[CASE_KEY] = Case(case.id, case.input)
            item.stash[EPOCH_KEY] = epoch
            item.extra_keyword_matches.update(case.tags)
            item.extra_keyword_matches.add(case.severity.value)
            yield item

    def _fixtureinfo(self) -> Any:
        """The fixture closure, computed once per directory and kept on its collector: every
        case item requests the same fixtures and sees the same conftests (case files define no
        fixtures of their own), and resolving them per item cost most of the collection time of
        a large set (see benchmarks/bench_nightmare.py)."""
        directory = self.parent
        assert directory is not None
        info = directory.stash.get(FIXTURE_INFO, None)
        if info is None:
            manager = getattr(self.session, "_fixturemanager", None)  # pytest's own Function
            if manager is None:  # reads it the same way; without it pytest computes per item
                return None
            info = manager.getfixtureinfo(node=self, func=_run_nightmare_case, cls=None)
            directory.stash[FIXTURE_INFO] = info
        return info

    def _claim_id(self, case: NightmareCase) -> None:
        seen = self.config.stash[SEEN_IDS]
        other = seen.setdefault(case.id, self.path)
        if other is not self.path and other != self.path:
            raise self.CollectError(
                str(
                    CaseFormatError(
                        f"duplicate case id {case.id!r}: {other} already uses it. Case ids must "
                        "be unique across the nightmare set; rename one of them.",
                        path=self.path,
                    )
                )
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, self.CollectError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


def _run_nightmare_case(
    request: pytest.FixtureRequest,
    opsladder_run: Run,
    opsladder_agent: Callable[[Any], Any],
) -> None:
    case: NightmareCase = request.node.stash[NIGHTMARE_CASE]
    error = request.node.stash.get(PREFETCH_ERROR_KEY, None)
    if error is not None:  # what a serial run would have raised here (an output a cassette
        raise error  # cannot store), or the build hook raised for this case (its run is here)
    if opsladder_run.manifest.get("ended_at"):
        return  # shadow prefetch already ran this case concurrently and evaluated its checks
    shadow = opsladder_run.boundary is not None and hasattr(opsladder_run.boundary, "divergences")
    try:
        output = opsladder_agent(case.input)
    except (Exception, ShadowStopRun) as exc:
        if not shadow:
            raise
        # a candidate that raises (or is stopped at a divergence) is a result: error status
        opsladder_run.fail(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
        output = None
    opsladder_run.output = to_jsonable(output, tool="agent output", path="output")
    results = evaluate(case.checks, opsladder_run)
    opsladder_run.extra["checks"] = results
    checks_hold = all(r["passed"] for r in results)
    opsladder_run.extra["passed"] = opsladder_run.error is None and checks_hold
    failed = [r for r in results if not r["passed"]]
    if failed and not shadow:  # in shadow mode the gate, not each case, decides
        lines = "\n".join(f"  - {r['check']}: {r['failure']}" for r in failed)
        pytest.fail(f"case {case.id!r}: {len(failed)} check(s) failed\n{lines}", pytrace=False)
