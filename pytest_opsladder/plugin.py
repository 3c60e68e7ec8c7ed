"""The pytest plugin: options, markers, hooks and the terminal summary; the work is elsewhere.

Heavy libraries (pandas, scipy, jinja2, vcrpy) are imported by the modules that need them,
never here, so loading the plugin costs nothing for test suites that do not use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder import hookspecs
from pytest_opsladder import options as opt
from pytest_opsladder._modules import module_available
from pytest_opsladder.choices import parse_choice
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.ini import (
    add_number_ini,
    check_bool_options,
    ini_bool,
    ini_text,
    named_origin,
)
from pytest_opsladder.modes import Mode, RecordMode
from pytest_opsladder.pyproject import opsladder_table, pyproject_path
from pytest_opsladder.settings import (
    Settings,
    merge_variants,
    positive_int,
    resolve_modes,
    variants_from_pyproject,
)
from pytest_opsladder.stash_keys import SETTINGS_KEY, TALLY_KEY  # shared; re-exported here
from pytest_opsladder.tally import Tally

# Each rung's fixtures and hooks live in its own plugin module; rungs land one at a time, so a
# module that is not in this install is skipped.
_PLUGIN_MODULES = (
    "pytest_opsladder.fixtures",
    "pytest_opsladder.setup_order",
    "pytest_opsladder.nightmare.plugin",
    "pytest_opsladder.http.fixtures",
    "pytest_opsladder.drift.plugin",
    "pytest_opsladder.drift.workers",
    "pytest_opsladder.reports.plugin",
    "pytest_opsladder.schedule.fixtures",
    "pytest_opsladder.idempotency.fixtures",
    "pytest_opsladder.observability.fixtures",
    "pytest_opsladder.guardrails.fixtures",
    "pytest_opsladder.rollback.fixtures",
    "pytest_opsladder.blast_radius.fixtures",
    "pytest_opsladder.coexist",
    "pytest_opsladder.model_graded.plugin",
)
pytest_plugins = [m for m in _PLUGIN_MODULES if module_available(m)]


THREAD_CONTEXT_KEY = pytest.StashKey[bool]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(opt.GROUP, "opsladder: record, replay and shadow-test agent runs")
    group.addoption(
        opt.OPT_MODE,
        dest="opsladder_mode",
        default=None,
        metavar="MODE",
        help="replay (default: offline, from cassettes), record (run live, write cassettes) or "
        "shadow (re-run cases under a candidate variant). ini: opsladder_mode",
    )
    group.addoption(
        opt.OPT_RECORD_MODE,
        dest="opsladder_record_mode",
        default=None,
        metavar="RECORD_MODE",
        help="none, once (default when recording), new_episodes, all or rewrite. "
        "ini: opsladder_record_mode",
    )
    group.addoption(
        opt.OPT_SHADOW,
        dest="opsladder_shadow",
        action="store_true",
        default=False,
        help="shorthand for --opsladder-mode=shadow",
    )
    group.addoption(
        opt.OPT_VARIANT,
        dest="opsladder_variant",
        default=None,
        metavar="NAME",
        help="run replay/record under this variant instead of the baseline",
    )
    group.addoption(
        opt.OPT_CASSETTE_DIR,
        dest="opsladder_cassette_dir",
        default=None,
        metavar="DIR",
        help="where tests' cassettes live (default: 'cassettes/opsladder' beside each test "
        "module, apart from pytest-recording's 'cassettes/<module>'). "
        "ini: opsladder_cassette_dir",
    )
    group.addoption(
        opt.OPT_NIGHTMARE_DIR,
        dest="opsladder_nightmare_dir",
        default=None,
        metavar="DIR",
        help="the nightmare set's directory (default: nightmare_set). ini: opsladder_nightmare_dir",
    )
    _add_shadow_options(group)
    parser.addini(opt.INI_MODE, "default opsladder mode (replay, record, shadow)", default="replay")
    parser.addini(opt.INI_RECORD_MODE, "default record mode", default="")
    parser.addini(opt.INI_BASELINE, "name of the baseline variant", default="baseline")
    parser.addini(opt.INI_CASSETTE_DIR, "directory for tests' cassettes", default="")
    parser.addini(opt.INI_NIGHTMARE_DIR, "the nightmare set's directory", default="nightmare_set")
    _add_shadow_ini(parser)
    parser.addini(
        opt.INI_THREAD_CONTEXT,
        "carry the current run into the threads and ThreadPoolExecutor work it starts",
        type="bool",
        default=True,
    )


def _add_shadow_options(group: Any) -> None:
    group.addoption(
        opt.OPT_CANDIDATE,
        dest="opsladder_candidate",
        default=None,
        metavar="NAME",
        help="shadow: the candidate variant (default: the one variant that is not the "
        "baseline). ini: opsladder_candidate",
    )
    group.addoption(
        opt.OPT_EPOCHS,
        dest="opsladder_epochs",
        default=None,
        metavar="K",
        help="run each case K times (record: K baseline cassettes; shadow: K candidate runs, "
        "reduced per case before testing); fixed before the run. ini: opsladder_epochs",
    )
    group.addoption(
        opt.OPT_CONCURRENCY,
        dest="opsladder_concurrency",
        default=None,
        metavar="N",
        help="shadow: candidate runs executing at once (needs the pytest_opsladder_build_agent "
        "hook). ini: opsladder_concurrency",
    )
    group.addoption(
        opt.OPT_DIVERGENCE,
        dest="opsladder_divergence",
        default=None,
        metavar="POLICY",
        help="shadow: what a candidate gets for a tool call the baseline never made: nearest "
        "(default: the result of the closest recorded call of that tool), error, stop. "
        "ini: opsladder_divergence",
    )
    group.addoption(
        opt.OPT_GATE_ALERT,
        dest="opsladder_gate_alert",
        action="append",
        default=None,
        metavar="SINK",
        help="raise an alert through this sink when the drift gate fails, as a missed job "
        "would (stderr, file:PATH, webhook:URL, command:CMD; repeatable). "
        "ini: opsladder_gate_alert",
    )
    group.addoption(
        opt.OPT_SHARD,
        dest="opsladder_shard",
        default=None,
        metavar="NAME",
        help="shadow: also write this job's runs to <report dir>/shards/NAME.jsonl, for "
        "`opsladder merge` to rescore with the other CI jobs' shards into one verdict",
    )
    group.addoption(
        opt.OPT_REPORT_DIR,
        dest="opsladder_report_dir",
        default=None,
        metavar="DIR",
        help="where shadow results and reports are written (default: reports). "
        "ini: opsladder_report_dir",
    )


def _add_shadow_ini(parser: pytest.Parser) -> None:
    parser.addini(opt.INI_CANDIDATE, "the shadow candidate variant", default="")
    add_number_ini(parser, opt.INI_EPOCHS, "runs per case", default="1")
    add_number_ini(parser, opt.INI_CONCURRENCY, "concurrent candidate runs in shadow mode", "1")
    parser.addini(opt.INI_DIVERGENCE, "divergence policy: nearest, error, stop", default="nearest")
    parser.addini(opt.INI_REPORT_DIR, "directory of shadow results and reports", default="reports")
    parser.addini(
        opt.INI_GATE_ALERT,
        "alert sinks for a failed drift gate (stderr, file:PATH, webhook:URL, command:CMD)",
        type="linelist",
        default=[],
    )


def _option_or_ini(config: pytest.Config, dest: str, ini: str) -> str | None:
    value = config.getoption(dest)
    if value is None:
        return ini_text(config, ini)
    return str(value)


def _modes(config: pytest.Config) -> tuple[Mode, RecordMode]:
    """The mode and record mode; a bad one is named with where it was set."""
    mode_value = "shadow" if config.getoption("opsladder_shadow") else None
    mode_value = mode_value or _option_or_ini(config, "opsladder_mode", opt.INI_MODE) or "replay"
    record_value = _option_or_ini(config, "opsladder_record_mode", opt.INI_RECORD_MODE)
    with named_origin(config, opt.INI_MODE, dest="opsladder_mode", flag=opt.OPT_MODE):
        resolve_modes(mode_value, None)
    rec = {"dest": "opsladder_record_mode", "flag": opt.OPT_RECORD_MODE}
    with named_origin(config, opt.INI_RECORD_MODE, **rec):
        return resolve_modes(mode_value, record_value)


def _build_settings(config: pytest.Config) -> Settings:
    mode, record_mode = _modes(config)
    record_value = _option_or_ini(config, "opsladder_record_mode", opt.INI_RECORD_MODE)
    root = Path(config.rootpath)
    cassette_dir = _option_or_ini(config, "opsladder_cassette_dir", opt.INI_CASSETTE_DIR)
    nightmare = _option_or_ini(config, "opsladder_nightmare_dir", opt.INI_NIGHTMARE_DIR)
    settings = Settings(
        mode=mode,
        record_mode=record_mode,
        rootdir=root,
        cassette_dir=root / cassette_dir if cassette_dir else None,
        nightmare_dir=root / (nightmare or "nightmare_set"),
        baseline=str(config.getini(opt.INI_BASELINE)),
        variant_name=config.getoption("opsladder_variant"),
        record_mode_explicit=record_value is not None,
        pyproject=pyproject_path(config.inipath, root),
    )
    opsladder_table(settings.pyproject_file)  # a misspelled section is refused before any run
    _shadow_settings(config, settings)
    return settings


def _shadow_settings(config: pytest.Config, settings: Settings) -> None:
    from pytest_opsladder.drift.shadow import DivergencePolicy

    settings.candidate_name = _option_or_ini(config, "opsladder_candidate", opt.INI_CANDIDATE)
    epochs = _option_or_ini(config, "opsladder_epochs", opt.INI_EPOCHS) or "1"
    with named_origin(config, opt.INI_EPOCHS, dest="opsladder_epochs", flag=opt.OPT_EPOCHS):
        settings.epochs = positive_int(epochs, opt.INI_EPOCHS)
    workers = _option_or_ini(config, "opsladder_concurrency", opt.INI_CONCURRENCY) or "1"
    concurrency = {"dest": "opsladder_concurrency", "flag": opt.OPT_CONCURRENCY}
    with named_origin(config, opt.INI_CONCURRENCY, **concurrency):
        settings.concurrency = positive_int(workers, opt.INI_CONCURRENCY)
    policy = _option_or_ini(config, "opsladder_divergence", opt.INI_DIVERGENCE) or "nearest"
    divergence_at = {"dest": "opsladder_divergence", "flag": opt.OPT_DIVERGENCE}
    with named_origin(config, opt.INI_DIVERGENCE, **divergence_at):
        divergence = parse_choice(DivergencePolicy, policy, setting="divergence policy")
    settings.divergence = divergence.value
    report_dir = _option_or_ini(config, "opsladder_report_dir", opt.INI_REPORT_DIR) or "reports"
    settings.report_dir = settings.rootdir / report_dir
    settings.extra["shard"] = config.getoption("opsladder_shard")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{opt.MARKER}{opt.MARKER_HELP[len(opt.MARKER) :]}")
    try:
        check_bool_options(config)
        settings = _build_settings(config)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    config.stash[TALLY_KEY] = Tally()
    _register_metric_hook(config)
    if ini_bool(config, opt.INI_THREAD_CONTEXT):  # only while a run is active (not at load)
        from pytest_opsladder.capture.context import propagate_during_runs

        propagate_during_runs(True)
        config.stash[THREAD_CONTEXT_KEY] = True


REMOVE_METRICS_KEY = pytest.StashKey[Any]()


def _register_metric_hook(config: pytest.Config) -> None:
    """Runs ended in this session get the metrics of ``pytest_opsladder_run_metrics`` too."""
    from pytest_opsladder.capture.metrics import register_metrics_provider

    def hook_metrics(run: Any) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for extra in config.hook.pytest_opsladder_run_metrics(run=run):
            if not isinstance(extra, dict):
                raise pytest.UsageError(
                    f"pytest_opsladder_run_metrics returned {extra!r}; return a dict or None."
                )
            merged.update(extra)
        return merged

    config.stash[REMOVE_METRICS_KEY] = register_metrics_provider(hook_metrics)


def pytest_unconfigure(config: pytest.Config) -> None:
    from pytest_opsladder.capture.agent_call import close_plugin_loops

    close_plugin_loops()  # the loops async agents ran on, closed as asyncio.run closes its own
    remove = config.stash.get(REMOVE_METRICS_KEY, None)
    if remove is not None:
        remove()
    if config.stash.get(THREAD_CONTEXT_KEY, False):
        from pytest_opsladder.capture.context import propagate_during_runs

        propagate_during_runs(False)


def pytest_sessionstart(session: pytest.Session) -> None:
    settings = session.config.stash[SETTINGS_KEY]
    hook = session.config.hook.pytest_opsladder_variants
    try:
        declared = [variants_from_pyproject(settings.pyproject_file), *hook()]
        settings.variants = merge_variants(declared, settings.rootdir, "pytest_opsladder_variants")
        _check_variants(session.config, settings)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def _check_variants(config: pytest.Config, settings: Settings) -> None:
    """The variants named by the options exist (before any case runs); an unknown one is named
    with where it was set."""
    if settings.variant_name:
        with named_origin(config, "", dest="opsladder_variant", flag=opt.OPT_VARIANT):
            settings.run_variant  # noqa: B018
    with named_origin(config, opt.INI_BASELINE):
        settings.run_variant  # noqa: B018 - the baseline
    if settings.mode.value == "shadow" and settings.candidate_name:
        flag = {"dest": "opsladder_candidate", "flag": opt.OPT_CANDIDATE}
        with named_origin(config, opt.INI_CANDIDATE, **flag):
            settings.candidate  # noqa: B018
    elif settings.mode.value == "shadow":
        settings.candidate  # noqa: B018 - the one variant that is not the baseline


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent under -p no:xdist
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: add each worker's tally to ours."""
    data = getattr(node, "workeroutput", {}).get("opsladder_tally")
    if data:
        node.config.stash[TALLY_KEY].merge(data)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["opsladder_tally"] = session.config.stash[TALLY_KEY].as_dict()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or _ran_no_test(config):
        return  # nothing ran: no summary of runs
    tally = config.stash[TALLY_KEY]
    if tally.total or config.stash[SETTINGS_KEY].mode.value != "replay":
        mode = config.stash[SETTINGS_KEY].mode.value
        terminalreporter.write_sep("-", f"opsladder ({mode})")
        terminalreporter.write_line(tally.summary_line())


def _ran_no_test(config: pytest.Config) -> bool:
    """--collect-only, --setup-only and --setup-plan run no test body (runs never end)."""
    return any(config.getoption(name, False) for name in ("collectonly", "setuponly", "setupplan"))
