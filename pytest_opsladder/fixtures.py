"""Fixtures of ladder level 0: the current run, its variant, and the user-overridable config."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from pytest_opsladder import options as opt
from pytest_opsladder.capture.recorder import RunRecorder
from pytest_opsladder.capture.run import Run, RunStatus
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cassette import locations
from pytest_opsladder.cassette.naming import cassette_path, safe_stem
from pytest_opsladder.exceptions import (
    CassetteError,
    CassetteNotFoundError,
    CassetteWriteError,
    ConfigError,
    OpsladderError,
)
from pytest_opsladder.modes import Mode, RecordMode
from pytest_opsladder.settings import Settings
from pytest_opsladder.stash_keys import (  # shared by the plugin modules; re-exported here
    CASE_KEY,
    EPOCH_KEY,
    NIGHTMARE_CASE,
    RUN_KEY,
    RUN_SETUP_FAILURE,
    SETTINGS_KEY,
    SETUP_REQUEST,
    TALLY_KEY,
)

CALL_OUTCOME = pytest.StashKey[BaseException | None]()
SETUP_ERROR = pytest.StashKey[BaseException]()
CALL_SECONDS = "call_s"  # run.extra: the test's call phase, on the run's clock
TEST_OUTCOME = "test_outcome"  # run.extra: what the user's test said about this run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember how the test body ended, so the run knows whether it completed."""
    if call.when == "call":
        item.stash[CALL_OUTCOME] = call.excinfo.value if call.excinfo else None
    elif call.when == "setup" and call.excinfo is not None:
        item.stash[SETUP_ERROR] = call.excinfo.value
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Time the test's call phase: the agent's latency when it is not called as a fixture."""
    run = item.stash.get(RUN_KEY, None)
    t0 = run.now() if run is not None else 0.0
    try:
        return (yield)
    finally:
        if run is not None:
            run.extra[CALL_SECONDS] = round(run.now() - t0, 6)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    """Wrap the user's ``opsladder_agent``: awaited when it is async, and timed."""
    __tracebackhide__ = True  # a fixture's error shows the fixture, not this wrapper
    result = yield
    if fixturedef.argname != "opsladder_agent" or not callable(result):
        return result
    from pytest_opsladder.capture.agent_call import OpsladderAgent

    wrapped = OpsladderAgent(result)
    cached = fixturedef.cached_result
    if cached is not None and cached[2] is None:  # later requests read the cache, not our return
        fixturedef.cached_result = (wrapped, cached[1], None)
    return wrapped


def test_outcome(item: pytest.Item) -> dict[str, Any]:
    """The case's outcome as the user's test reported it: passed, failed, error or skipped."""
    if SETUP_ERROR in item.stash:
        return outcome_of(item.stash[SETUP_ERROR], "setup")
    exc = item.stash.get(CALL_OUTCOME, None)
    if exc is None:
        return {"outcome": "passed", "message": None, "phase": "call"}
    return outcome_of(exc, "call")


def outcome_of(exc: BaseException, phase: str) -> dict[str, Any]:
    """What pytest makes of ``exc`` raised in ``phase``: a skip is skipped wherever it is
    raised (a fixture that skips skips the test); else failed in the call, error around it."""
    if isinstance(exc, pytest.skip.Exception):
        return _outcome("skipped", exc, phase)
    return _outcome("failed" if phase == "call" else "error", exc, phase)


def _outcome(outcome: str, exc: BaseException, phase: str) -> dict[str, Any]:
    text = str(getattr(exc, "msg", None) or exc).strip()
    first = text.splitlines()[0] if text else ""
    message = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return {"outcome": outcome, "message": message[:300], "phase": phase}


def agent_seconds(run: Run) -> float | None:
    """How long the agent ran: its calls through ``opsladder_agent``, else the call phase."""
    from pytest_opsladder.capture.agent_call import AGENT_CALLS_S

    value = run.extra.get(AGENT_CALLS_S, run.extra.get(CALL_SECONDS))
    return float(value) if value is not None else None


@pytest.fixture(scope="session")
def opsladder_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved opsladder settings of this session (mode, record mode, variants, dirs)."""

    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def opsladder_config() -> dict[str, Any]:
    """Per-scope overrides of the run's recording (override this fixture at any scope).

    Keys: ``record_mode``, ``cassette_dir``, plus those read by the HTTP recorder
    (``match_ignore``, ``allowed_hosts``, ...).
    """
    return {}


@pytest.fixture
def opsladder_variant(request: pytest.FixtureRequest, opsladder_settings: Settings) -> Variant:
    """The variant this test's run executes under (marker, --opsladder-variant, or baseline)."""
    marker = request.node.get_closest_marker(opt.MARKER)
    name = marker.kwargs.get("variant") if marker else None
    try:
        if opsladder_settings.mode is Mode.SHADOW:
            return opsladder_settings.candidate
        return opsladder_settings.variant(name) if name else opsladder_settings.run_variant
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture
def opsladder_agent(request: pytest.FixtureRequest) -> Callable[[Any], Any]:
    """The agent under test (case input -> output): override this fixture in conftest.py, or
    implement ``pytest_opsladder_build_agent``, which this default calls for the test's case."""
    if not has_build_agent_hook(request.config):  # the message alone: no traceback of ours
        pytest.fail(
            "no opsladder_agent fixture: define one in conftest.py that returns a callable "
            "(case input -> output) built for the `opsladder_variant` fixture's variant, or "
            "implement the pytest_opsladder_build_agent(config, variant, case, workdir) hook.",
            pytrace=False,
        )
    return _agent_from_hook(request)


def has_build_agent_hook(config: pytest.Config) -> bool:
    """Whether a conftest or plugin implements ``pytest_opsladder_build_agent``: the default
    ``opsladder_agent`` and shadow's concurrent runs and workers build agents with it."""
    return bool(config.pluginmanager.hook.pytest_opsladder_build_agent.get_hookimpls())


def _agent_from_hook(request: pytest.FixtureRequest) -> Callable[[Any], Any]:
    """The agent the build hook makes for this test's case and variant, in a fresh workdir
    (as shadow's concurrent runs and worker processes build it)."""
    case = case_for_item(request.node)
    variant = request.getfixturevalue("opsladder_variant")
    workdir = request.getfixturevalue("tmp_path")
    agent = request.config.hook.pytest_opsladder_build_agent(
        config=request.config, variant=variant, case=case, workdir=workdir
    )
    if not callable(agent):
        pytest.fail(
            f"pytest_opsladder_build_agent returned {type(agent).__name__} for case "
            f"{case.id!r} (variant {variant.name!r}), and no opsladder_agent fixture is "
            "defined: return a callable (case input -> output), or define the fixture.",
            pytrace=False,
        )
    return agent  # type: ignore[no-any-return]


def case_for_item(item: pytest.Item) -> Case:
    """The case a test records: the nightmare case, the marker's ``case=``, or the test id."""
    if CASE_KEY in item.stash:
        return item.stash[CASE_KEY]
    marker = item.get_closest_marker(opt.MARKER)
    case_id = (marker.kwargs.get("case") if marker else None) or locations.without_epoch(
        item, item.nodeid
    )
    return Case(str(case_id), marker.kwargs.get("input") if marker else None)


def cassette_for(
    item: pytest.Item, case: Case, variant: Variant, settings: Settings, cfg: dict[str, Any]
) -> Path:
    epoch = item.stash.get(EPOCH_KEY, 0)
    hooked = item.config.hook.pytest_opsladder_cassette_path(
        nodeid=item.nodeid, case_id=case.id, variant=variant, epoch=epoch
    )
    if hooked is not None:
        if not isinstance(hooked, str | Path):
            raise pytest.UsageError(
                f"pytest_opsladder_cassette_path returned {hooked!r}; return a path or None."
            )
        return Path(hooked)
    if CASE_KEY in item.stash:
        return cassette_path(settings.nightmare_dir / "cassettes", case.id, variant.name, epoch)
    configured = cfg.get("cassette_dir")  # relative to the rootdir, like the ini key
    base = settings.rootdir / configured if configured else settings.cassette_dir
    if base is None:
        return _default_cassette(item, case, variant, epoch)
    home = locations.module_dir(Path(base), item, settings.rootdir)
    new = cassette_path(home, locations.test_name(item), variant.name, epoch)
    found = locations.own_or_earlier(new, item, case.id)
    if found != new:
        return found
    old = locations.legacy_path(Path(base) / safe_stem(item.path.stem), item, variant.name, epoch)
    return locations.own_or_new(new, old, case.id)


# The default home of tests' cassettes: ``cassettes/opsladder/`` beside the test module, apart
# from ``cassettes/<module>/`` where pytest-recording (and vcrpy users) keep theirs. A cassette
# at the old place (``cassettes/<module>/<test>/``), recorded before, is still read and updated.
DEFAULT_CASSETTE_DIR = ("cassettes", "opsladder")


def _default_cassette(item: pytest.Item, case: Case, variant: Variant, epoch: int) -> Path:
    module = safe_stem(item.path.stem)
    home = item.path.parent.joinpath(*DEFAULT_CASSETTE_DIR, module)
    name = locations.test_name(item)
    new = cassette_path(home, name, variant.name, epoch)
    found = locations.own_or_earlier(new, item, case.id)
    if found != new:
        return found
    # a class's test: its neighbours' name too
    owner = case.id if name != locations.without_epoch(item, item.name) else None
    for old_home in (home, item.path.parent / "cassettes" / module):  # earlier layouts
        old = locations.legacy_path(old_home, item, variant.name, epoch)
        found = locations.own_or_new(new, old, owner)
        if found != new:
            return found
    return new


@pytest.fixture
def opsladder_run(
    request: pytest.FixtureRequest,
    opsladder_settings: Settings,
    opsladder_variant: Variant,
) -> Generator[Run, None, None]:
    """The run this test's agent records into (or replays from); persisted at teardown."""
    item = request.node
    cfg = _run_config(request)
    case = case_for_item(item)
    record_mode = opsladder_settings.record_mode
    if cfg.get("record_mode"):
        record_mode = RecordMode(RecordMode.parse(cfg["record_mode"], setting="record_mode"))
    if opsladder_settings.mode is Mode.SHADOW:
        yield from _shadow_run(request, case, opsladder_settings, cfg)
        return
    _fail_without_nightmare_baseline(request)
    cassette = cassette_for(item, case, opsladder_variant, opsladder_settings, cfg)
    mode: Mode = opsladder_settings.mode
    failure: OpsladderError | None = None
    try:  # a damaged cassette, read by the stale check or the replay, is one message
        if request.config.getoption("opsladder_rerecord_stale", False) and cassette.exists():
            mode, record_mode = _plan_for_stale(cassette, opsladder_variant, mode, record_mode)
        recorder = RunRecorder(
            case,
            opsladder_variant,
            cassette,
            mode=mode,
            record_mode=record_mode,
            epoch=item.stash.get(EPOCH_KEY, 0),
            options=dict(cfg),
        )
        run = recorder.__enter__()
    except OpsladderError as exc:
        failure = exc
    if failure is not None:  # failed outside the except block: the error is shown once
        fail_setup(request, _setup_failure(item, failure))
    item.stash[RUN_KEY] = run
    yield run
    _end_run(item, recorder)


def _run_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The ``opsladder_config`` fixture's value, checked: a bad one fails the test's setup with
    what is wrong and the fix, never a traceback from the plugin."""
    from pytest_opsladder.run_config import check_run_config

    failure: ConfigError | None = None
    try:
        return check_run_config(request.getfixturevalue("opsladder_config"))
    except ConfigError as exc:
        failure = exc
    fail_setup(request, str(failure))


def fail_setup(request: pytest.FixtureRequest, message: str, *, skip: bool = False) -> NoReturn:
    """Stop the test's setup for the run's own reason (failed, or skipped); the test reports
    another fixture's failure instead if one fails too (see :mod:`.setup_order`)."""
    __tracebackhide__ = True
    exc: BaseException = (
        pytest.skip.Exception(message) if skip else pytest.fail.Exception(message, pytrace=False)
    )
    request.node.stash[RUN_SETUP_FAILURE] = exc
    raise exc


def _fail_without_nightmare_baseline(request: pytest.FixtureRequest) -> None:
    """A nightmare case that would replay without its cassette: the case's own message."""
    if NIGHTMARE_CASE not in request.node.stash:
        return
    from pytest_opsladder.nightmare.plugin import missing_baseline_message

    message = missing_baseline_message(request.node)
    if message:
        fail_setup(request, message)


def _setup_failure(item: pytest.Item, error: OpsladderError) -> str:
    """The error; for a missing cassette, a record command selecting exactly this test (its
    node id as a positional argument: ``-k`` takes an expression, and a node id is none)."""
    if not isinstance(error, CassetteNotFoundError):
        return str(error)
    command = f"pytest --opsladder-mode=record {shlex.quote(item.nodeid)}"
    if Path.cwd() != item.config.rootpath:
        command = f"cd {shlex.quote(str(item.config.rootpath))} && {command}"
    what = str(error).split(" Record it with:", 1)[0]
    return (
        f"{what} (test {item.nodeid}): replay runs offline from it, so the test cannot run "
        f"without it. Record it with: {command}"
    )


def _plan_for_stale(
    cassette: Path, variant: Variant, mode: Mode, record_mode: RecordMode
) -> tuple[Mode, RecordMode]:
    """--opsladder-rerecord-stale: a stale cassette is recorded again, a fresh one replays."""
    from pytest_opsladder.capture.tools import tools_schema_hash
    from pytest_opsladder.cassette import files
    from pytest_opsladder.http.stale import plan_for_stale

    events = files.load(cassette).events_of("tool_call")
    tools_hash = tools_schema_hash(sorted({e.name for e in events}))
    return plan_for_stale(True, cassette, variant, tools_hash, mode, record_mode)


def _shadow_run(
    request: pytest.FixtureRequest, case: Case, settings: Settings, cfg: dict[str, Any]
) -> Generator[Run, None, None]:
    """Shadow mode: the candidate runs against the baseline's recorded tool results."""
    from pytest_opsladder.drift import plugin as shadow_session

    item = request.node
    baseline = settings.variant(settings.baseline)
    base_path = cassette_for(item, case, baseline, settings, cfg)
    cand_path = cassette_for(item, case, settings.candidate, settings, cfg)
    unreadable: CassetteError | None = None
    missing: CassetteNotFoundError | None = None
    try:
        recorder = shadow_session.open_shadow_run(item, case, settings, base_path, cand_path, cfg)
    except CassetteNotFoundError as error:
        missing = error
    except CassetteError as error:
        unreadable = error
    if missing is not None:
        shadow_session.missing_baseline(item, case.id)
        why = f"no baseline to shadow (reported in the results): {missing}"
        fail_setup(request, why, skip=True)
    if unreadable is not None:  # a lost pair, not a silently smaller suite
        why = f"with an unreadable baseline cassette: {unreadable}"
        shadow_session.lost_case(item, case.id, "baseline", why)
        fail_setup(request, str(unreadable))
    if recorder.run.manifest.get("ended_at"):  # run concurrently before the items (prefetch)
        yield recorder.run
        outcome = test_outcome(item)
        recorder.run.extra[TEST_OUTCOME] = outcome
        if outcome["outcome"] == "skipped":
            shadow_session.skipped(item, case.id, outcome["message"], recorder.baseline)
            return
        shadow_session.collect(item, recorder)
        return
    failure: OpsladderError | None = None
    try:
        run = recorder.__enter__()
    except OpsladderError as error:
        failure = error
    if failure is not None:  # outside the except block: the error is shown once
        fail_setup(request, str(failure))
    item.stash[RUN_KEY] = run
    yield run
    outcome = test_outcome(item)
    exc = _run_ending(item, outcome, shadow=True)
    _note_outcome(run, outcome)
    try:
        recorder.__exit__(type(exc) if exc else None, exc, None)
    except CassetteWriteError:  # the candidate's cassette refused (a secret in it): the run
        _shadowed(item, case, recorder, outcome)  # is still scored, and fails at teardown
        raise
    _shadowed(item, case, recorder, outcome)


def _shadowed(item: pytest.Item, case: Case, recorder: Any, outcome: dict[str, Any]) -> None:
    """Hand an ended candidate run to the session: a skipped one is excluded from pairing
    (counted in the results), any other is scored."""
    from pytest_opsladder.drift import plugin as shadow_session

    if outcome["outcome"] == "skipped":
        shadow_session.skipped(item, case.id, outcome["message"], recorder.baseline)
        return
    shadow_session.collect(item, recorder)


def _run_ending(
    item: pytest.Item, outcome: dict[str, Any], *, shadow: bool = False
) -> BaseException | None:
    """The exception that ended the agent's run, if any: a failed check on its output (an
    assertion) leaves the run complete, and so does ``pytest.skip``/``xfail``/``fail`` once the
    agent has finished; raised before, the test stopped the agent and the run is incomplete
    (in shadow mode a skip or fail is the case's result). A setup error is an ``error`` result
    of a shadow case; when recording, the run never happened (incomplete, never a cassette)."""
    if outcome["phase"] == "setup" and shadow:  # the case's result; a skip is not the run's
        return None if outcome["outcome"] == "skipped" else item.stash[SETUP_ERROR]
    if CALL_OUTCOME not in item.stash:
        return KeyboardInterrupt("the test was interrupted")
    exc = item.stash[CALL_OUTCOME]
    if isinstance(exc, AssertionError):
        return None
    if isinstance(exc, pytest.fail.Exception | pytest.skip.Exception):
        return None if shadow or _agent_finished(item.stash[RUN_KEY]) else exc
    return exc


def _agent_finished(run: Run) -> bool:
    """The agent had returned when the test raised a pytest outcome: a call through
    ``opsladder_agent`` returned and none was stopped, or, in a test that is itself the agent,
    it had set ``opsladder_run.output``."""
    from pytest_opsladder.capture.agent_call import AGENT_CALLS_S

    if run.stopped_in_agent:
        return False
    return AGENT_CALLS_S in run.extra or run.output is not None


def _note_outcome(run: Run, outcome: dict[str, Any]) -> None:
    """Store the test's verdict and the agent's own duration in the run before it is saved."""
    from pytest_opsladder.capture.metrics import AGENT_SECONDS

    run.extra[TEST_OUTCOME] = outcome
    seconds = agent_seconds(run)
    if seconds is not None:
        run.extra[AGENT_SECONDS] = seconds


def _end_run(item: pytest.Item, recorder: RunRecorder) -> None:
    outcome = test_outcome(item)
    exc = _run_ending(item, outcome)  # a failed check on the output leaves the run complete
    _note_outcome(recorder.run, outcome)
    recorder.defer_persist = item.stash.get(TEARING_DOWN, False)
    recorder.__exit__(type(exc) if exc else None, exc, None)
    if recorder.defer_persist:  # written once every fixture has torn down (see below)
        item.stash[PENDING_KEY] = recorder
        return
    _after_persist(item, recorder)


TEARING_DOWN = pytest.StashKey[bool]()
PENDING_KEY = pytest.StashKey[RunRecorder]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """A run ends with its fixture, but is written after every fixture of the test has torn
    down: an error in a teardown is part of the test's outcome (the case did not pass), so a
    baseline recorded with it is not a passing one, and a re-record with it does not replace
    a good cassette. Interrupted before the teardown, the fixture writes the run itself."""
    item.stash[TEARING_DOWN] = True
    error: BaseException | None = None
    try:
        return (yield)
    except BaseException as exc:
        error = exc
        raise
    finally:
        item.stash[TEARING_DOWN] = False
        recorder = item.stash.get(PENDING_KEY, None)
        if recorder is not None:
            del item.stash[PENDING_KEY]
            _write_after_teardown(item, recorder, error)


def _write_after_teardown(
    item: pytest.Item, recorder: RunRecorder, error: BaseException | None
) -> None:
    outcome = recorder.run.extra.get(TEST_OUTCOME) or {}
    if error is not None and outcome.get("outcome") == "passed" and _is_error(error):
        recorder.run.extra[TEST_OUTCOME] = _outcome("error", error, "teardown")
    recorder.persist()
    _after_persist(item, recorder)


def _is_error(exc: BaseException) -> bool:
    """An exception in a teardown that makes the test an error (not a skip)."""
    if isinstance(exc, BaseExceptionGroup):
        return any(_is_error(e) for e in exc.exceptions)
    return not isinstance(exc, pytest.skip.Exception)


def _after_persist(item: pytest.Item, recorder: RunRecorder) -> None:
    tally = item.config.stash[TALLY_KEY]
    run = recorder.run
    if run.status is RunStatus.INCOMPLETE:
        tally.add("incomplete")
    elif recorder.replayed:
        tally.add("replayed")
    elif recorder.kept_baseline is not None:  # the failed re-record went to <name>.error.json
        rewrite = recorder.plan.record_mode is RecordMode.REWRITE
        tally.add("rewrite_kept" if rewrite else "baseline_kept")
    elif recorder.saved_to is not None:
        tally.add("recorded")
    item.config.hook.pytest_opsladder_run_finished(run=run, cassette=recorder.saved_to)


@pytest.fixture(autouse=True)
def _opsladder_marked(request: pytest.FixtureRequest) -> None:
    """Tests marked @pytest.mark.opsladder run inside a run without asking for the fixture.

    Under ``--opsladder-epochs K`` this fixture carries the epoch (``request.param``). It keeps
    the test's request while the test sets up (see :mod:`.setup_order`)."""
    request.node.stash[SETUP_REQUEST] = request
    if request.node.get_closest_marker(opt.MARKER) is not None:
        request.getfixturevalue("opsladder_run")


@pytest.hookimpl(trylast=True)  # after the user's parametrize marks: the epoch's id comes last
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``--opsladder-epochs K``: a test that records a run (marked, or requesting
    ``opsladder_run``) runs K times, as ``test_x[e0]`` .. ``test_x[e<K-1>]`` (``test_x[1-e0]``
    when it is parametrized), each epoch its own cassette (``<variant>.e<k>.json``)."""
    settings = metafunc.config.stash.get(SETTINGS_KEY, None)
    if settings is None or settings.epochs < 2 or not _records_a_run(metafunc):
        return
    epochs = range(settings.epochs)
    metafunc.parametrize(
        locations.EPOCH_PARAM, epochs, indirect=True, ids=[f"e{k}" for k in epochs]
    )


def _records_a_run(metafunc: pytest.Metafunc) -> bool:
    marked = metafunc.definition.get_closest_marker(opt.MARKER) is not None
    return marked or "opsladder_run" in metafunc.fixturenames


def pytest_itemcollected(item: pytest.Item) -> None:
    epoch = locations.epoch_of(item)
    if epoch is not None:
        item.stash[EPOCH_KEY] = epoch
