"""Shadow mode inside pytest: pairing, progress, scoring, the gate and the reports (level 7).

Each shadowed case item hands its baseline and candidate runs to the session's collector
(through ``workeroutput`` under pytest-xdist). When the session ends, the controller alone
builds the metrics table, scores it, writes ``reports/`` and reports the gate as its own test
(``opsladder::gate``): it appears in JUnit, counts in the summary, and fails the exit status.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_opsladder.drift.shadow import DivergencePolicy, ShadowRecorder
from pytest_opsladder.drift.shadow_collect import ShadowCollector
from pytest_opsladder.exceptions import ConfigError

if TYPE_CHECKING:
    from pytest_opsladder.capture.variant import Case
    from pytest_opsladder.drift.gate import GateConfig
    from pytest_opsladder.settings import Settings

COLLECTOR_KEY = pytest.StashKey[ShadowCollector]()
GATE_KEY = pytest.StashKey["GateConfig"]()
PROGRESS_KEY = pytest.StashKey[dict[str, Any]]()
RESULTS_KEY = pytest.StashKey[dict[str, Any]]()
PREFETCH_KEY = pytest.StashKey[ShadowRecorder]()
GATE_NODEID = "opsladder::gate"


def _settings(config: pytest.Config) -> Settings:
    from pytest_opsladder.plugin import SETTINGS_KEY

    return config.stash[SETTINGS_KEY]


def _shadowing(config: pytest.Config) -> bool:
    return _settings(config).mode.value == "shadow"


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _shadowing(config):
        return
    config.stash[COLLECTOR_KEY] = ShadowCollector()
    config.stash[PROGRESS_KEY] = {"total": 0, "done": 0, "divergent": 0, "live": 0}
    config.pluginmanager.register(ShadowProgress(config), "opsladder-shadow-progress")
    try:
        from pytest_opsladder.capture.metrics import known_metrics
        from pytest_opsladder.drift.scoring import check_gate, startup_catalogue

        gate = load_gate(_settings(config).rootdir)
        check_gate(gate, startup_catalogue(known_metrics()))
        config.stash[GATE_KEY] = gate
        _settings(config).extra["prices"] = load_prices(_settings(config).rootdir)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def _opsladder_table(rootdir: Path) -> dict[str, Any]:
    pyproject = rootdir / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    with pyproject.open("rb") as handle:
        table: dict[str, Any] = tomllib.load(handle).get("tool", {}).get("opsladder", {})
    return table


def load_gate(rootdir: Path) -> GateConfig:
    """``[tool.opsladder.gate]`` of the project's pyproject.toml (the defaults without one)."""
    from pytest_opsladder.drift.gate import GateConfig, load_gate_config

    has_gate = "gate" in _opsladder_table(rootdir)
    return load_gate_config(rootdir / "pyproject.toml") if has_gate else GateConfig.default()


def load_prices(rootdir: Path) -> dict[str, Any]:
    """``[tool.opsladder.prices]``: USD per 1M tokens per model, for the cost metric."""
    from pytest_opsladder.drift.table import parse_prices

    return dict(parse_prices(_opsladder_table(rootdir).get("prices", {})))


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
    from pytest_opsladder.fixtures import EPOCH_KEY

    baseline = files.load(baseline_cassette)
    prefetched = item.stash.get(PREFETCH_KEY, None)
    if prefetched is not None:
        return prefetched
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
    collector = item.config.stash[COLLECTOR_KEY]
    if case_id not in collector.missing_baseline:
        collector.missing_baseline.append(case_id)


def collect(item: pytest.Item, recorder: ShadowRecorder) -> None:
    """Hand the case's baseline and candidate runs to the session's collector."""
    from pytest_opsladder.nightmare.checks import evaluate
    from pytest_opsladder.nightmare.plugin import NIGHTMARE_CASE

    collector = item.config.stash[COLLECTOR_KEY]
    case = item.stash.get(NIGHTMARE_CASE, None)
    base, cand = recorder.baseline, recorder.run
    base_checks = evaluate(case.checks, base) if case is not None else []
    collector.add_run(base.to_dict(), _extra("baseline", base.error is None, base_checks))
    cand_checks = cand.extra.get("checks", [])
    passed = cand.error is None and all(c["passed"] for c in cand_checks)
    cand_extra = _extra("candidate", passed, cand_checks)
    cand_extra["divergences"] = cand.extra.get("divergences", 0)
    fd = cand.extra.get("first_divergence")
    cand_extra["first_divergence_step"] = fd["step"] if fd else None
    collector.add_run(cand.to_dict(), cand_extra)
    collector.first_divergences[base.case.id] = fd
    if case is not None:
        collector.case_meta[case.id] = {"tags": list(case.tags), "severity": case.severity.value}
    from pytest_opsladder.plugin import TALLY_KEY

    item.config.stash[TALLY_KEY].add("shadowed")
    item.config.hook.pytest_opsladder_run_finished(run=cand, cassette=None)
    http = cand.extra.get("http") or {}
    item.user_properties.append(("opsladder.divergent", fd is not None))
    item.user_properties.append(("opsladder.live_calls", int(http.get("live", 0))))


def _extra(role: str, passed: bool, checks: list[dict[str, Any]]) -> dict[str, Any]:
    failed = [c["check"] for c in checks if not c["passed"]]
    return {"role": role, "passed": passed and not failed, "failed_checks": failed}


# -- concurrency -----------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    config = session.config
    settings = _settings(config)
    if (
        _shadowing(config)
        and settings.concurrency > 1
        and not config.option.collectonly
        and not hasattr(config, "workerinput")  # under xdist the workers are the concurrency
    ):
        prefetch(session, settings)
    return (yield)


def prefetch(session: pytest.Session, settings: Settings) -> None:
    """Run every case's candidate at once (``--opsladder-concurrency``); items then report."""
    import tempfile

    from pytest_opsladder.drift.concurrent import ShadowJob, run_jobs

    jobs: list[tuple[pytest.Item, ShadowJob]] = []
    with tempfile.TemporaryDirectory(prefix="opsladder-shadow-") as tmp:
        for item in session.items:
            job = _job_for(item, settings, Path(tmp) / str(len(jobs)))
            if job is None and not jobs and _agent_hook_missing(session.config, settings):
                return
            if job is not None:
                jobs.append((item, job))
        run_jobs([job for _, job in jobs], settings.concurrency)
    for item, job in jobs:
        _evaluate_prefetched(item, job.recorder)
        item.stash[PREFETCH_KEY] = job.recorder


def _agent_hook_missing(config: pytest.Config, settings: Settings) -> bool:
    return not config.pluginmanager.hook.pytest_opsladder_build_agent.get_hookimpls()


def _job_for(item: pytest.Item, settings: Settings, workdir: Path) -> Any:
    from pytest_opsladder.cassette import files
    from pytest_opsladder.drift.concurrent import ShadowJob
    from pytest_opsladder.exceptions import CassetteError
    from pytest_opsladder.fixtures import CASE_KEY, EPOCH_KEY, cassette_for
    from pytest_opsladder.nightmare.plugin import NIGHTMARE_CASE

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
    agent = item.config.hook.pytest_opsladder_build_agent(
        config=item.config, variant=settings.candidate, case=case, workdir=workdir
    )
    if agent is None:
        return None
    record_mode = settings.record_mode if settings.record_mode_explicit else None
    recorder = ShadowRecorder(
        case, settings.candidate, baseline, cand_path,
        policy=DivergencePolicy(settings.divergence), record_mode=record_mode,
        epoch=item.stash.get(EPOCH_KEY, 0),
    )  # fmt: skip
    return ShadowJob(recorder, agent, case.input)


def _evaluate_prefetched(item: pytest.Item, recorder: ShadowRecorder) -> None:
    from pytest_opsladder.nightmare.checks import evaluate
    from pytest_opsladder.nightmare.plugin import NIGHTMARE_CASE

    run = recorder.run
    results = evaluate(item.stash[NIGHTMARE_CASE].checks, run)
    run.extra["checks"] = results
    run.extra["passed"] = run.error is None and all(r["passed"] for r in results)


# -- xdist -------------------------------------------------------------------------------------
@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent under -p no:xdist
def pytest_testnodedown(node: Any, error: Any) -> None:
    data = getattr(node, "workeroutput", {}).get("opsladder_shadow")
    if data:
        node.config.stash[COLLECTOR_KEY].merge(data)


# -- progress ----------------------------------------------------------------------------------
def pytest_collection_finish(session: pytest.Session) -> None:
    if _shadowing(session.config):
        session.config.stash[PROGRESS_KEY]["total"] = len(session.items)


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

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if report.when != "teardown" or "opsladder.divergent" not in props:
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
    try:
        results, written = score_session(
            config.stash[COLLECTOR_KEY], settings, config.stash[GATE_KEY]
        )
    except ConfigError as exc:
        _report_gate(config, "failed", f"the gate could not be scored: {exc}", [])
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return
    config.stash[RESULTS_KEY] = {"results": results, "written": written}
    failed = results["verdict"] == "fail"
    properties = [("verdict", results["verdict"]), ("alpha", results["alpha"])]
    properties += [(f"metric.{m['name']}", m.get("verdict")) for m in results["metrics"]
                   if m.get("gated")]  # fmt: skip
    _report_gate(config, "failed" if failed else "passed", results.get("verdict_reason", ""),
                 properties)  # fmt: skip
    if failed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        _alert(config, results, written)


def _alert(config: pytest.Config, results: dict[str, Any], written: dict[str, Path]) -> None:
    """A failed gate pages through the same sinks as a missed job (ladder levels 1 and 7)."""
    sinks = config.getoption("opsladder_gate_alert") or config.getini("opsladder_gate_alert")
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
    delivery = raise_alert(
        "drift-gate", "critical", results.get("verdict_reason", "the drift gate failed"),
        details, list(sinks), kind="drift",
    )  # fmt: skip
    config.stash[RESULTS_KEY]["alerts"] = delivery


def _report_gate(
    config: pytest.Config, outcome: str, text: str, properties: list[tuple[str, object]]
) -> None:
    """The gate as a test report of its own: JUnit, -x, the summary and the exit code see it."""
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
        return
    finish_shadow(session)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    done = config.stash.get(RESULTS_KEY, None)
    if done is None or hasattr(config, "workerinput"):
        return
    from pytest_opsladder.reports.ci_summaries import terminal_summary

    terminalreporter.write_sep("-", "opsladder shadow verdict")
    for line in terminal_summary(done["results"]):
        terminalreporter.write_line(line)
    for name, path in sorted(done["written"].items()):
        terminalreporter.write_line(f"  {name}: {path}")
    for sink, status in done.get("alerts", {}).items():
        terminalreporter.write_line(f"  alert via {sink}: {status}")
