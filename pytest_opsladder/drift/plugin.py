"""Shadow mode inside pytest: pairing, progress, scoring, the gate and the reports (level 7).

Each shadowed case item hands its baseline and candidate runs to the session's collector
(through ``workeroutput`` under pytest-xdist). When the session ends, the controller alone
builds the metrics table, scores it, writes ``reports/`` and reports the gate as its own test
(``opsladder::gate``): it appears in JUnit, counts in the summary, and fails the exit status.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_opsladder.drift.session_coverage import Coverage, cases_of, last_failures, stop_reason
from pytest_opsladder.drift.shadow import DivergencePolicy, ShadowRecorder
from pytest_opsladder.drift.shadow_collect import ShadowCollector
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.stash_keys import PREFETCH_ERROR_KEY

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.variant import Case
    from pytest_opsladder.drift.gate import GateConfig
    from pytest_opsladder.settings import Settings

COLLECTOR_KEY = pytest.StashKey[ShadowCollector]()
GATE_KEY = pytest.StashKey["GateConfig"]()
PROGRESS_KEY = pytest.StashKey[dict[str, Any]]()
RESULTS_KEY = pytest.StashKey[dict[str, Any]]()
PREFETCH_KEY = pytest.StashKey[ShadowRecorder]()
COVERAGE_KEY = pytest.StashKey[Coverage]()
# Files that failed to collect (node id -> pytest's first line), seen where reports arrive.
COLLECT_ERRORS_KEY = pytest.StashKey[dict[str, str]]()
GATE_NODEID = "opsladder::gate"


def _settings(config: pytest.Config) -> Settings:
    from pytest_opsladder.stash_keys import SETTINGS_KEY

    return config.stash[SETTINGS_KEY]


def _shadowing(config: pytest.Config) -> bool:
    return _settings(config).mode.value == "shadow"


def pytest_addoption(parser: pytest.Parser) -> None:
    from pytest_opsladder import options as opt

    parser.getgroup(opt.GROUP).addoption(
        opt.OPT_FAIL_ON_INCONCLUSIVE,
        dest="opsladder_fail_on_inconclusive",
        action="store_true",
        default=None,
        help="shadow: an inconclusive drift gate fails the session (a CI job can act on it). "
        f"ini: {opt.INI_FAIL_ON_INCONCLUSIVE}",
    )
    parser.addini(
        opt.INI_FAIL_ON_INCONCLUSIVE,
        "shadow: an inconclusive drift gate fails the session",
        type="bool",
        default=False,
    )


def fail_on_inconclusive(config: pytest.Config) -> bool:
    from pytest_opsladder import options as opt
    from pytest_opsladder.ini import ini_bool

    value = config.getoption("opsladder_fail_on_inconclusive")
    return ini_bool(config, opt.INI_FAIL_ON_INCONCLUSIVE) if value is None else bool(value)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _shadowing(config):
        return
    config.stash[COLLECTOR_KEY] = ShadowCollector()
    config.stash[PROGRESS_KEY] = {"total": 0, "done": 0, "divergent": 0, "live": 0}
    config.stash[COVERAGE_KEY] = Coverage(last_failed=last_failures(config))
    config.stash[COLLECT_ERRORS_KEY] = {}
    config.pluginmanager.register(ShadowProgress(config), "opsladder-shadow-progress")
    from pytest_opsladder.capture.metrics import known_metrics
    from pytest_opsladder.drift.errors import GateConfigError
    from pytest_opsladder.drift.scoring import check_gate, startup_catalogue

    pyproject = _settings(config).pyproject_file
    try:
        gate = load_gate(pyproject)
        check_gate(gate, startup_catalogue(known_metrics()))
        config.stash[GATE_KEY] = gate
        _settings(config).extra["prices"] = load_prices(pyproject)
    except GateConfigError as exc:
        raise pytest.UsageError(str(exc.in_file(pyproject))) from None
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    _check_gate_alert(config)
    fail_on_inconclusive(config)  # a bad ini value is refused now, not after every case ran


def _gate_alert_sinks(config: pytest.Config) -> list[str]:
    return list(config.getoption("opsladder_gate_alert") or config.getini("opsladder_gate_alert"))


def _check_gate_alert(config: pytest.Config) -> None:
    """The gate's alert sinks are parsed before any case runs: a misspelled sink used to be a
    traceback at the end of the session, after every candidate run, when the gate failed."""
    from pytest_opsladder.schedule.alerts import load_sinks

    sinks = _gate_alert_sinks(config)
    if not sinks:
        return
    from pytest_opsladder import options as opt
    from pytest_opsladder.ini import origin_of

    try:
        load_sinks(sinks)
    except ConfigError as exc:
        origin = origin_of(config, opt.INI_GATE_ALERT, dest="opsladder_gate_alert",
                           flag=opt.OPT_GATE_ALERT)  # fmt: skip
        raise pytest.UsageError(
            f"--opsladder-gate-alert / opsladder_gate_alert ({origin.where}): {exc} Write each "
            "sink as stderr, file:PATH, webhook:URL or command:CMD."
        ) from None


def load_gate(pyproject: Path) -> GateConfig:
    """``[tool.opsladder.gate]`` of the session's pyproject.toml (the defaults without one)."""
    from pytest_opsladder.drift.gate import GateConfig, load_gate_config
    from pytest_opsladder.pyproject import opsladder_table

    has_gate = "gate" in opsladder_table(pyproject)
    return load_gate_config(pyproject) if has_gate else GateConfig.default()


def load_prices(pyproject: Path) -> dict[str, Any]:
    """``[tool.opsladder.prices]``: USD per 1M tokens per model, for the cost metric."""
    from pytest_opsladder.drift.errors import GateConfigError
    from pytest_opsladder.drift.table import parse_prices
    from pytest_opsladder.pyproject import opsladder_table

    prices = opsladder_table(pyproject).get("prices", {})
    if not isinstance(prices, dict):
        raise GateConfigError(
            "[tool.opsladder.prices] must be a table: model = {input = 2.0, output = 8.0}",
            key="prices",
        )
    return dict(parse_prices(prices))


# -- per case ----------------------------------------------------------------------------------
def open_shadow_run(
    item: pytest.Item,
    case: Case,
    settings: Settings,
    baseline_cassette: Path,
    candidate_cassette: Path,
    cfg: dict[str, Any],
) -> ShadowRecorder:
    """A candidate run of ``case`` paired with its baseline cassette (missing: NotFound)."""
    from pytest_opsladder.cassette import files
    from pytest_opsladder.stash_keys import EPOCH_KEY

    prefetched = item.stash.get(PREFETCH_KEY, None)
    if prefetched is not None:  # its baseline was loaded when the candidate ran
        return prefetched
    baseline = files.load(baseline_cassette)
    record_mode = settings.record_mode if settings.record_mode_explicit else None
    recorder = ShadowRecorder(
        case,
        settings.candidate,
        baseline,
        candidate_cassette,
        policy=DivergencePolicy(settings.divergence),
        record_mode=record_mode,
        epoch=item.stash.get(EPOCH_KEY, 0),
        options=cfg,
    )
    return recorder


def missing_baseline(item: pytest.Item, case_id: str) -> None:
    """No baseline cassette for this case's epoch: a lost pair, unless another epoch of the
    case is paired (then the baseline lacks epochs, named as such in the results)."""
    from pytest_opsladder.stash_keys import EPOCH_KEY

    collector = item.config.stash[COLLECTOR_KEY]
    if case_id not in collector.missing_baseline:
        collector.missing_baseline.append(case_id)
    epochs = collector.missing_epochs.setdefault(case_id, [])
    epochs.append(item.stash.get(EPOCH_KEY, 0))


def lost_case(item: pytest.Item, case_id: str, side: str, reason: str) -> None:
    """A case without a run on ``side`` for ``reason``: a lost pair in the gate, with why."""
    lost_case_of(item.config, case_id, side, reason)


def lost_case_of(config: pytest.Config, case_id: str, side: str, reason: str) -> None:
    config.stash[COLLECTOR_KEY].lost.setdefault(case_id, {"side": side, "reason": reason})


def collect(item: pytest.Item, recorder: ShadowRecorder) -> None:
    """Hand the case's baseline and candidate runs to the session's collector."""
    from pytest_opsladder.nightmare.checks import evaluate
    from pytest_opsladder.stash_keys import NIGHTMARE_CASE

    collector = item.config.stash[COLLECTOR_KEY]
    case = item.stash.get(NIGHTMARE_CASE, None)
    base, cand = recorder.baseline, recorder.run
    base_checks = evaluate(case.checks, base) if case is not None else []
    collector.add_run(base.to_dict(), case_extra("baseline", base, base_checks))
    cand_extra = case_extra("candidate", cand, cand.extra.get("checks", []))
    cand_extra["divergences"] = cand.extra.get("divergences", 0)
    fd = cand.extra.get("first_divergence")
    cand_extra["first_divergence_step"] = fd["step"] if fd else None
    collector.add_run(cand.to_dict(), cand_extra)
    collector.first_divergences[base.case.id] = fd
    if recorder.recorded is not None and base.case.id not in collector.candidate_replayed:
        collector.candidate_replayed.append(base.case.id)
    if case is not None:
        collector.case_meta[case.id] = {"tags": list(case.tags), "severity": case.severity.value}
    from pytest_opsladder.stash_keys import TALLY_KEY

    item.config.stash[TALLY_KEY].add("shadowed")
    item.stash[CANDIDATE_RUN_KEY] = str(cand.manifest["run_id"])
    item.config.hook.pytest_opsladder_run_finished(run=cand, cassette=None)
    http = cand.extra.get("http") or {}
    item.user_properties.append(("opsladder.divergent", fd is not None))
    item.user_properties.append(("opsladder.prefetched", PREFETCH_KEY in item.stash))
    item.user_properties.append(("opsladder.live_calls", int(http.get("live", 0))))


def case_extra(role: str, run: Run, checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether the case passed on this side, and why not: the user's test outcome first (a
    failed assertion fails the case), the run's own error, then the nightmare checks."""
    from pytest_opsladder.drift.outcome import case_verdict

    passed, reason, source = case_verdict(run, checks)
    failed = [c["check"] for c in checks if not c["passed"]]
    return {"role": role, "passed": passed, "failed_checks": failed, "failure": reason,
            "outcome_source": source}  # fmt: skip


def skipped(item: pytest.Item, case_id: str, reason: str | None, baseline: Run) -> None:
    """A case the candidate's test skipped: not paired, counted in the results. If the
    baseline ran it, the candidate's run was never observed: a lost pair with that reason."""
    from pytest_opsladder.drift.outcome import TEST_OUTCOME

    collector = item.config.stash[COLLECTOR_KEY]
    collector.skipped[case_id] = reason or "skipped"
    item.user_properties.append(("opsladder.divergent", False))
    base_outcome = baseline.extra.get(TEST_OUTCOME) or {}
    if base_outcome.get("outcome") != "skipped":
        why = f"skipped by the candidate's test: {reason or 'skipped'}"
        lost_case(item, case_id, "candidate", why)


def skipped_before_run(item: pytest.Item, case_id: str, reason: str | None) -> None:
    """The candidate's test skipped in a fixture before its run began, where the baseline
    ran: never observed, so a lost pair, counted with the skips."""
    item.config.stash[COLLECTOR_KEY].skipped[case_id] = reason or "skipped"
    lost_case(item, case_id, "candidate", f"skipped by the candidate's test: {reason or 'skipped'}")


CANDIDATE_RUN_KEY = pytest.StashKey[str]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """An error in the test's teardown fails its candidate run, as one in setup or call does
    (the run was collected before the teardown ran)."""
    report = yield
    run_id = item.stash.get(CANDIDATE_RUN_KEY, None)
    if call.when == "teardown" and call.excinfo is not None and run_id is not None:
        exc = call.excinfo.value
        if not isinstance(exc, pytest.skip.Exception):
            first = (str(exc).strip().splitlines() or [""])[0]
            failure = f"error in teardown: {type(exc).__name__}: {first}"[:300]
            item.config.stash[COLLECTOR_KEY].mark_failed(run_id, failure)
    return report


# -- concurrency -----------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    from pytest_opsladder.drift.workers import is_worker, workers_of

    config = session.config
    settings = _settings(config)
    if (
        _shadowing(config)
        and (settings.concurrency > 1 or workers_of(config) > 1 or is_worker(config))
        and not config.option.collectonly
        and not hasattr(config, "workerinput")  # under xdist the workers are the concurrency
    ):
        prefetch(session, settings)
    return (yield)


def prefetch(session: pytest.Session, settings: Settings) -> None:
    """Run every case's candidate at once (``--opsladder-concurrency``), in N processes with
    ``--opsladder-workers`` (see :mod:`.workers`); the items then report."""
    from pytest_opsladder.drift import workers
    from pytest_opsladder.fixtures import has_build_agent_hook

    if not has_build_agent_hook(session.config):
        _warn_serial(session.config, settings)
        return
    if workers.is_worker(session.config):
        from pytest_opsladder.drift.worker_pool import run_as_worker

        run_as_worker(session, settings)  # ends the worker process
    if workers.workers_of(session.config) > 1:  # issue 18: candidate runs in N processes
        workers.run_in_workers(session, settings, workers.workers_of(session.config),
                               lambda items: _prefetch_items(session, settings, items),
                               lambda item, rec: _adopt_prefetched(session, item, rec))  # fmt: skip
        return
    _prefetch_items(session, settings, session.items)


def _adopt_prefetched(session: pytest.Session, item: pytest.Item, recorder: Any) -> None:
    """A candidate run made in a worker process: progress counts it, the item reports it."""
    from pytest_opsladder.drift.concurrent import ShadowJob

    item.stash[PREFETCH_KEY] = recorder
    _job_done(session.config, ShadowJob(recorder, lambda _: None, None))


def _prefetch_items(session: pytest.Session, settings: Settings, items: list[pytest.Item]) -> None:
    """Run the candidates of ``items`` at once, at the configured concurrency."""
    for item, job in run_candidates(items, settings, lambda job: _job_done(session.config, job)):
        item.stash[PREFETCH_KEY] = job.recorder
        if job.error is not None:
            item.stash[PREFETCH_ERROR_KEY] = job.error


def run_candidates(
    items: list[pytest.Item], settings: Settings, on_done: Any = None
) -> list[tuple[pytest.Item, Any]]:
    """The candidate runs of ``items`` (those with a baseline and an agent), at the configured
    concurrency; each job is built (baseline loaded, agent built) just before it starts, so
    the first model call goes out at once (see :func:`.concurrent.run_built`)."""
    import tempfile

    from pytest_opsladder.drift.concurrent import run_built

    with tempfile.TemporaryDirectory(prefix="opsladder-shadow-") as tmp:
        numbered = list(enumerate(items))
        built = run_built(numbered, lambda n: _job_for(n[1], settings, Path(tmp) / str(n[0])),
                          settings.concurrency, on_done)  # fmt: skip
    return [(item, job) for (_, item), job in built]


def _warn_serial(config: pytest.Config, settings: Settings) -> None:
    """--opsladder-concurrency without the build-agent hook: say so once, run serially."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    message = (
        f"opsladder: --opsladder-concurrency {settings.concurrency} has no effect: define the "
        "pytest_opsladder_build_agent(config, variant, case, workdir) hook in conftest.py so "
        "candidate runs can be built outside test items; running the cases one at a time."
    )
    if reporter is not None:
        reporter.write_line(message, yellow=True)


def _job_done(config: pytest.Config, job: Any) -> None:
    """A prefetched candidate run finished: progress counts it now, when the work happens."""
    progress = config.stash[PROGRESS_KEY]
    progress["done"] += 1
    progress["divergent"] += int(bool(job.recorder.run.extra.get("first_divergence")))
    http = job.recorder.run.extra.get("http") or {}
    progress["live"] += int(http.get("live", 0))
    _print_progress(config, progress)


def _job_for(item: pytest.Item, settings: Settings, workdir: Path) -> Any:
    from pytest_opsladder.cassette import files
    from pytest_opsladder.drift.concurrent import ITEM_RAISES, ShadowJob
    from pytest_opsladder.exceptions import CassetteError
    from pytest_opsladder.fixtures import cassette_for
    from pytest_opsladder.stash_keys import CASE_KEY, EPOCH_KEY, NIGHTMARE_CASE

    if NIGHTMARE_CASE not in item.stash:
        return None
    case = item.stash[CASE_KEY]
    cand_path = cassette_for(item, case, settings.candidate, settings, {})
    try:
        base_path = cassette_for(item, case, settings.variant(settings.baseline), settings, {})
        baseline = files.load(base_path)
    except CassetteError:
        return None  # reported by the item itself
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        agent = item.config.hook.pytest_opsladder_build_agent(
            config=item.config, variant=settings.candidate, case=case, workdir=workdir
        )
    except ITEM_RAISES as error:  # the user's hook failed (or skipped) this case: its item
        item.stash[PREFETCH_ERROR_KEY] = error  # raises it; the session goes on
        return None
    if agent is None:
        return None
    record_mode = settings.record_mode if settings.record_mode_explicit else None
    recorder = ShadowRecorder(
        case, settings.candidate, baseline, cand_path,
        policy=DivergencePolicy(settings.divergence), record_mode=record_mode,
        epoch=item.stash.get(EPOCH_KEY, 0),
    )  # fmt: skip
    return ShadowJob(recorder, agent, case.input, checks=functools.partial(_evaluate_checks, item))


def _evaluate_checks(item: pytest.Item, run: Run) -> None:
    """A prefetched run's checks, evaluated in its scope before it ends (see ShadowJob)."""
    from pytest_opsladder.nightmare.checks import evaluate
    from pytest_opsladder.stash_keys import NIGHTMARE_CASE

    results = evaluate(item.stash[NIGHTMARE_CASE].checks, run)
    run.extra["checks"] = results
    run.extra["passed"] = run.error is None and all(r["passed"] for r in results)


# -- xdist -------------------------------------------------------------------------------------
@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent under -p no:xdist
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {})
    if output.get("opsladder_shadow"):
        node.config.stash[COLLECTOR_KEY].merge(output["opsladder_shadow"])
    if output.get("opsladder_coverage"):
        node.config.stash[COVERAGE_KEY].merge(output["opsladder_coverage"])


# -- which cases the session covers (see session_coverage.py) -------------------------------
def pytest_deselected(items: list[pytest.Item]) -> None:
    if items and COVERAGE_KEY in items[0].config.stash:
        items[0].config.stash[COVERAGE_KEY].deselected.update(cases_of(items))


# -- progress ----------------------------------------------------------------------------------
def pytest_collection_finish(session: pytest.Session) -> None:
    if _shadowing(session.config):
        session.config.stash[PROGRESS_KEY]["total"] = len(session.items)
        session.config.stash[COVERAGE_KEY].selected.update(cases_of(session.items))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    progress = node.config.stash.get(PROGRESS_KEY, None)
    if progress is not None:
        progress["total"] = max(progress["total"], len(ids))


class ShadowProgress:
    """Counts finished shadow cases as their reports arrive (on the controller under xdist)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.progress = config.stash[PROGRESS_KEY]

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.progress["started"] = time.monotonic()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A file that fails to collect (under xdist the controller hears of it once)."""
        if report.failed:
            last = (str(report.longrepr).strip().splitlines() or [""])[-1]
            self.config.stash[COLLECT_ERRORS_KEY].setdefault(report.nodeid or ".", last[:200])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":  # the item ran to its end (see session_coverage.py)
            self.config.stash[COVERAGE_KEY].finished.add(report.nodeid)
        props = dict(report.user_properties)
        if report.when != "teardown" or "opsladder.divergent" not in props:
            return
        if props.get("opsladder.prefetched"):  # counted as the concurrent runs finished
            return
        self.progress["done"] += 1
        self.progress["divergent"] += int(bool(props["opsladder.divergent"]))
        self.progress["live"] += int(props.get("opsladder.live_calls", 0))  # type: ignore[call-overload]
        _print_progress(self.config, self.progress)


def _print_progress(config: pytest.Config, progress: dict[str, Any]) -> None:
    """One line per tenth of the cases (each a line of its own in CI logs); none under -q."""
    if config.get_verbosity() < 0 or hasattr(config, "workerinput"):
        return
    total, done = max(progress["total"], progress["done"]), progress["done"]
    if done % max(1, total // 10) and done != total:
        return
    elapsed = time.monotonic() - progress.get("started", time.monotonic())
    left = elapsed / done * (total - done) if done else 0.0
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"opsladder shadow: {done}/{total} cases, {progress['divergent']} divergent, "
            f"{progress['live']} live calls, ~{left:.0f}s left"
        )


# -- the end: score, report, gate ------------------------------------------------------------
def finish_shadow(session: pytest.Session) -> None:
    """Controller only: score every pair, write reports/, report the gate as its own test."""
    from pytest_opsladder.drift.session_scoring import score_session

    config = session.config
    settings = _settings(config)
    collector = config.stash[COLLECTOR_KEY]
    if config.option.collectonly or _no_verdict(session, collector):
        return
    if _runs_no_test(config):  # --setup-only, --setup-plan: test bodies never ran
        config.stash[NO_TEST_RAN_KEY] = _runs_no_test(config) or ""
        return
    coverage = config.stash[COVERAGE_KEY]
    coverage.stopped = stop_reason(session)
    for case_id in coverage.not_run():  # -x, --maxfail, --sw: lost pairs, and inconclusive
        lost_case_of(config, case_id, "candidate", coverage.why_not_run())
    if not collector.paired_cases:  # nothing to compare: say what is missing, no traceback
        collected = max(len(session.items), config.stash[PROGRESS_KEY]["total"])  # xdist
        config.stash[NO_PAIRS_KEY] = collected
        if not collected:  # nothing selected: no gate to run
            return
    try:
        results, written = score_session(
            collector, settings, config.stash[GATE_KEY], finalize=coverage.finalize
        )
    except ConfigError as exc:
        _report_gate(session, "failed", f"the gate could not be scored: {exc}", [])
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return
    config.stash[RESULTS_KEY] = {"results": results, "written": written}
    failed = _gate_fails(config, results["verdict"])
    properties = [("verdict", results["verdict"]), ("alpha", results["alpha"])]
    properties += [(f"metric.{m['name']}", m.get("verdict")) for m in results["metrics"]
                   if m.get("gated")]  # fmt: skip
    _report_gate(session, "failed" if failed else "passed", _gate_text(results, failed),
                 properties)  # fmt: skip
    if failed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        _alert(config, results, written)


NO_PAIRS_KEY = pytest.StashKey[int]()
# The session was interrupted (Ctrl-C, errors during collection): how many cases had been
# paired. No verdict is given on part of the suite, and the reports of the last whole run stay.
INTERRUPTED_KEY = pytest.StashKey[int]()


NO_TEST_RAN_KEY = pytest.StashKey[str]()


def _runs_no_test(config: pytest.Config) -> str | None:
    """The option that set up fixtures without running any test body, if one did."""
    if config.getoption("setupplan", False):
        return "--setup-plan"
    return "--setup-only" if config.getoption("setuponly", False) else None


def _no_verdict(session: pytest.Session, collector: ShadowCollector) -> bool:
    """A session that could not run the suite gives no verdict and keeps the last reports:
    a file failed to collect (serially pytest stops; under xdist, or with
    --continue-on-collection-errors, the other files run, and the same is said), or Ctrl-C.
    -x, --maxfail and --sw stop it too, on purpose: those are judged, inconclusive."""
    config = session.config
    interrupted = session.exitstatus == pytest.ExitCode.INTERRUPTED
    if config.stash[COLLECT_ERRORS_KEY] or (interrupted and stop_reason(session) is None):
        config.stash[INTERRUPTED_KEY] = collector.paired_cases
        return True
    return False


def _gate_fails(config: pytest.Config, verdict: str) -> bool:
    """FAIL fails; INCONCLUSIVE fails too with --opsladder-fail-on-inconclusive."""
    return verdict == "fail" or (verdict == "inconclusive" and fail_on_inconclusive(config))


def _gate_text(results: dict[str, Any], failed: bool) -> str:
    from pytest_opsladder.drift.shadow_terminal import regressed_lines

    text = f"drift gate {str(results['verdict']).upper()}: {results.get('verdict_reason', '')}"
    if failed and results["verdict"] == "inconclusive":
        text += " (--opsladder-fail-on-inconclusive: an inconclusive gate fails)"
    return "\n".join([text, *regressed_lines(results.get("regressed_cases") or [])])


def _alert(config: pytest.Config, results: dict[str, Any], written: dict[str, Path]) -> None:
    """A failed gate pages through the same sinks as a missed job (ladder levels 1 and 7)."""
    sinks = _gate_alert_sinks(config)
    if not sinks:
        return
    from pytest_opsladder.schedule.alerts import raise_alert

    details = {
        "baseline": results["baseline"]["name"],
        "candidate": results["candidate"]["name"],
        "alpha": results["alpha"],
        "failed_metrics": [m["name"] for m in results["metrics"] if m.get("verdict") == "fail"],
        "report": str(written.get("report.html", "")),
    }
    try:
        delivery = raise_alert(
            "drift-gate", "critical", results.get("verdict_reason", "the drift gate failed"),
            details, sinks, kind="drift",
        )  # fmt: skip
    except ConfigError as exc:  # a sinks file changed since configure: said, never a traceback
        delivery = {", ".join(sinks): f"error: {exc}"}
    config.stash[RESULTS_KEY]["alerts"] = delivery


def _report_gate(
    session: pytest.Session, outcome: str, text: str, properties: list[tuple[str, object]]
) -> None:
    """The gate as a test report of its own: JUnit, -x, the summary and the exit code see it."""
    config = session.config
    session.testscollected += 1  # the gate is a test too: progress ends at 100%, not past it
    location = ("opsladder", None, "opsladder gate")
    for when, result in (("setup", "passed"), ("call", outcome), ("teardown", "passed")):
        report = pytest.TestReport(
            nodeid=GATE_NODEID,
            location=location,
            keywords={"opsladder": 1},
            outcome=result,  # type: ignore[arg-type]
            longrepr=text if result == "failed" else None,
            when=when,  # type: ignore[arg-type]
            user_properties=properties if when == "teardown" else [],
        )
        config.hook.pytest_runtest_logreport(report=report)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _shadowing(session.config):
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["opsladder_shadow"] = session.config.stash[COLLECTOR_KEY].as_dict()
        workeroutput["opsladder_coverage"] = session.config.stash[COVERAGE_KEY].as_dict()
        return
    finish_shadow(session)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    from pytest_opsladder.drift import shadow_terminal as say

    if NO_TEST_RAN_KEY in config.stash:
        terminalreporter.write_sep("-", "opsladder shadow verdict")
        terminalreporter.write_line(
            f"no verdict: {config.stash[NO_TEST_RAN_KEY]} runs no test, so no candidate was "
            "observed; the reports were left as they were."
        )
        return
    if INTERRUPTED_KEY in config.stash:
        terminalreporter.write_sep("-", "opsladder shadow verdict")
        report_dir, errors = _settings(config).report_dir, config.stash[COLLECT_ERRORS_KEY]
        paired = config.stash[INTERRUPTED_KEY]
        line = (say.collection_errors_line(errors, paired, report_dir) if errors
                else say.interrupted_line(paired, report_dir))  # fmt: skip
        terminalreporter.write_line(line)
        return
    if NO_PAIRS_KEY in config.stash:
        collector = config.stash[COLLECTOR_KEY]
        terminalreporter.write_sep("-", "opsladder shadow verdict")
        lost = {case_id: why["reason"] for case_id, why in collector.lost.items()}
        for line in say.no_pairs_lines(sorted(collector.missing_baseline), collector.skipped,
                                       config.stash[NO_PAIRS_KEY], lost):  # fmt: skip
            terminalreporter.write_line(line)
    done = config.stash.get(RESULTS_KEY, None)
    if done is None:
        return
    from pytest_opsladder.reports.ci_summaries import terminal_summary

    results = done["results"]
    if NO_PAIRS_KEY not in config.stash:
        terminalreporter.write_sep("-", "opsladder shadow verdict")
    for line in terminal_summary(results):
        terminalreporter.write_line(line)
    replayed = config.stash[COLLECTOR_KEY].candidate_replayed
    for line in say.regressed_lines(results.get("regressed_cases") or []):
        terminalreporter.write_line(line)
    for line in say.notes_lines(results, replayed):
        terminalreporter.write_line(line)
    for name, path in sorted(done["written"].items()):
        terminalreporter.write_line(f"  {name}: {path}")
    for sink, status in done.get("alerts", {}).items():
        terminalreporter.write_line(f"  alert via {sink}: {status}")
