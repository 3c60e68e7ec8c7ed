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
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.settings import Settings, merge_variants, resolve_modes
from pytest_opsladder.tally import Tally

# Each rung's fixtures and hooks live in its own plugin module; rungs land one at a time, so a
# module that is not in this install is skipped.
_PLUGIN_MODULES = (
    "pytest_opsladder.fixtures",
    "pytest_opsladder.nightmare.plugin",
    "pytest_opsladder.http.fixtures",
    "pytest_opsladder.drift.plugin",
    "pytest_opsladder.reports.plugin",
    "pytest_opsladder.schedule.fixtures",
    "pytest_opsladder.idempotency.fixtures",
    "pytest_opsladder.observability.fixtures",
    "pytest_opsladder.guardrails.fixtures",
    "pytest_opsladder.rollback.fixtures",
    "pytest_opsladder.blast_radius.fixtures",
)
pytest_plugins = [m for m in _PLUGIN_MODULES if module_available(m)]

SETTINGS_KEY = pytest.StashKey[Settings]()
TALLY_KEY = pytest.StashKey[Tally]()


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
        help="where tests' cassettes live (default: 'cassettes' beside each test module). "
        "ini: opsladder_cassette_dir",
    )
    group.addoption(
        opt.OPT_NIGHTMARE_DIR,
        dest="opsladder_nightmare_dir",
        default=None,
        metavar="DIR",
        help="the nightmare set's directory (default: nightmare_set). ini: opsladder_nightmare_dir",
    )
    parser.addini(opt.INI_MODE, "default opsladder mode (replay, record, shadow)", default="replay")
    parser.addini(opt.INI_RECORD_MODE, "default record mode", default="")
    parser.addini(opt.INI_BASELINE, "name of the baseline variant", default="baseline")
    parser.addini(opt.INI_CASSETTE_DIR, "directory for tests' cassettes", default="")
    parser.addini(opt.INI_NIGHTMARE_DIR, "the nightmare set's directory", default="nightmare_set")
    parser.addini(
        opt.INI_THREAD_CONTEXT,
        "carry the current run into ThreadPoolExecutor workers",
        type="bool",
        default=True,
    )


def _option_or_ini(config: pytest.Config, dest: str, ini: str) -> str | None:
    value = config.getoption(dest)
    if value is None:
        value = config.getini(ini) or None
    return value if value is None else str(value)


def _build_settings(config: pytest.Config) -> Settings:
    mode_value = "shadow" if config.getoption("opsladder_shadow") else None
    mode_value = mode_value or _option_or_ini(config, "opsladder_mode", opt.INI_MODE) or "replay"
    record_value = _option_or_ini(config, "opsladder_record_mode", opt.INI_RECORD_MODE)
    mode, record_mode = resolve_modes(mode_value, record_value)
    root = Path(config.rootpath)
    cassette_dir = _option_or_ini(config, "opsladder_cassette_dir", opt.INI_CASSETTE_DIR)
    nightmare = _option_or_ini(config, "opsladder_nightmare_dir", opt.INI_NIGHTMARE_DIR)
    return Settings(
        mode=mode,
        record_mode=record_mode,
        rootdir=root,
        cassette_dir=root / cassette_dir if cassette_dir else None,
        nightmare_dir=root / (nightmare or "nightmare_set"),
        baseline=str(config.getini(opt.INI_BASELINE)),
        variant_name=config.getoption("opsladder_variant"),
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{opt.MARKER}{opt.MARKER_HELP[len(opt.MARKER) :]}")
    try:
        settings = _build_settings(config)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    config.stash[TALLY_KEY] = Tally()
    if config.getini(opt.INI_THREAD_CONTEXT):
        from pytest_opsladder.capture.context import propagate_to_threads

        propagate_to_threads()


def pytest_sessionstart(session: pytest.Session) -> None:
    settings = session.config.stash[SETTINGS_KEY]
    hook = session.config.hook.pytest_opsladder_variants
    try:
        settings.variants = merge_variants(hook(), settings.rootdir, "pytest_opsladder_variants")
        settings.run_variant  # noqa: B018 - validates --opsladder-variant / the baseline early
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


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
    if hasattr(config, "workerinput"):
        return
    tally = config.stash[TALLY_KEY]
    if tally.total or config.stash[SETTINGS_KEY].mode.value != "replay":
        mode = config.stash[SETTINGS_KEY].mode.value
        terminalreporter.write_sep("-", f"opsladder ({mode})")
        terminalreporter.write_line(tally.summary_line())
