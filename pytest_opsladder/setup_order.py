"""A test's setup error is its fixtures' before it is the run's (ladder levels 0 and 7).

The ``opsladder_run`` fixture can stop a test's setup for a reason of its own: no cassette to
replay, one it cannot read, an ``opsladder_config`` it cannot use, no baseline to shadow. When
another fixture of the test fails as well, that failure is the one pytest reports without the
plugin, and the one to fix first: a missing cassette blamed for a database that is down sends
the user off to record a cassette that cannot help. So once the run's failure stopped pytest's
setup, the test's other fixtures are set up in pytest's order, and the first that fails is the
test's error (an error, a skip, whatever it raised). The run's own failure is reported only when
everything else set up.

In shadow mode a test whose setup failed before its run began is still a case. Failed in a
function-scoped fixture (one that may depend on the candidate variant), the candidate's run is
opened after the failure and ends with it, as when the run began first: a failed candidate.
Failed before any function-scoped fixture ran (a module fixture, say), the candidate was never
chosen, let alone observed: a lost pair, with why. Either way the case no longer drops out of
the comparison in silence.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest

from pytest_opsladder import options as opt
from pytest_opsladder.stash_keys import RUN_KEY, RUN_SETUP_FAILURE, SETTINGS_KEY, SETUP_REQUEST

if TYPE_CHECKING:
    from pytest_opsladder.capture.variant import Case

_K = Any  # a pytest.StashKey of any value type


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    __tracebackhide__ = True
    failure: BaseException | None = None
    try:
        result = yield
    except BaseException as exc:
        failure = exc
    own = _take(item, RUN_SETUP_FAILURE)
    request = _take(item, SETUP_REQUEST)
    if failure is None:
        return result
    raise reported_failure(item, failure, own, request)


def records_a_run(item: pytest.Item) -> bool:
    """The test is a case: marked, asking for ``opsladder_run``, or a nightmare case."""
    if item.get_closest_marker(opt.MARKER) is not None:
        return True
    return "opsladder_run" in getattr(item, "fixturenames", ())


def reported_failure(
    item: pytest.Item,
    failure: BaseException,
    own: BaseException | None,
    request: pytest.FixtureRequest | None,
) -> BaseException:
    """The exception the test's setup reports: another fixture's before the run's own.

    ``request`` is the one the plugin's function-scoped autouse fixture kept for the test
    (None when setup failed before it: in a fixture of a wider scope)."""
    __tracebackhide__ = True
    lookup = _top_request(item) or request
    if own is failure:
        return _first_other_failure(item, lookup, failure) if lookup else failure
    if _case_left_unopened(item, failure):
        if request is not None and lookup is not None:
            _open_run_after(item, lookup)
        if RUN_KEY not in item.stash:
            _lost_before_run(item, failure)
    return failure


def _top_request(item: pytest.Item) -> pytest.FixtureRequest | None:
    """pytest's own request of the test, the one its setup asks with: no fixture is on its
    stack, so a fixture looked up with it fails exactly as in pytest's setup (a misspelled
    name is reported against the test, not against a fixture of ours)."""
    request = getattr(item, "_request", None)
    return request if isinstance(request, pytest.FixtureRequest) else None


def _first_other_failure(
    item: pytest.Item, request: pytest.FixtureRequest, own: BaseException
) -> BaseException:
    """Set up the fixtures pytest did not reach; the first that fails for a reason other than
    the run's own (a fixture that needs the run gets its cached failure) is the test's."""
    __tracebackhide__ = True
    done = getattr(item, "funcargs", {})
    for name in getattr(item, "fixturenames", ()):
        if name in done or name == request.fixturename:  # (the autouse fixture's own name)
            continue
        try:
            request.getfixturevalue(name)
        except BaseException as exc:
            if exc is not own:
                return exc
    return own


def _take(item: pytest.Item, key: _K) -> Any:
    value = item.stash.get(key, None)
    if key in item.stash:
        del item.stash[key]
    return value


# -- shadow mode: a case whose setup failed before its run began ------------------------------
_ENDS_SESSION = (KeyboardInterrupt, SystemExit, pytest.exit.Exception)


def _case_left_unopened(item: pytest.Item, failure: BaseException) -> bool:
    settings = item.config.stash.get(SETTINGS_KEY, None)
    if settings is None or settings.mode.value != "shadow" or RUN_KEY in item.stash:
        return False
    return not isinstance(failure, _ENDS_SESSION) and records_a_run(item)


def _open_run_after(item: pytest.Item, request: pytest.FixtureRequest) -> None:
    """A function-scoped fixture failed: open the candidate's run now, to end with it."""
    # if the run cannot begin either (no baseline ...), the fixture has counted the case
    with contextlib.suppress(Exception, pytest.fail.Exception, pytest.skip.Exception):
        request.getfixturevalue("opsladder_run")
    _take(item, RUN_SETUP_FAILURE)


def _lost_before_run(item: pytest.Item, failure: BaseException) -> None:
    from pytest_opsladder.drift import plugin as shadow_session
    from pytest_opsladder.fixtures import case_for_item, outcome_of

    case = case_for_item(item)
    if not _has_baseline(item, case):
        shadow_session.missing_baseline(item, case.id)
        return
    outcome = outcome_of(failure, "setup")
    if outcome["outcome"] == "skipped":
        shadow_session.skipped_before_run(item, case.id, outcome["message"])
        return
    why = f"its test errored in setup before its run began: {outcome['message']}"
    shadow_session.lost_case(item, case.id, "candidate", why)


def _has_baseline(item: pytest.Item, case: Case) -> bool:
    from pytest_opsladder.fixtures import cassette_for

    settings = item.config.stash[SETTINGS_KEY]
    baseline = settings.variant(settings.baseline)
    return cassette_for(item, case, baseline, settings, {}).is_file()
