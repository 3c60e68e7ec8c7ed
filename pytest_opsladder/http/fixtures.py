"""pytest side of HTTP recording: options, live-call accounting, stale-cassette report.

The work happens in :mod:`.scope` (entered around every run by the recorder); this module adds
the ``--opsladder-fail-on-live`` and ``--opsladder-rerecord-stale`` flags, adds each run's HTTP
counts to the session tally (the terminal summary line), and lists stale cassettes at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run

OPT_FAIL_ON_LIVE = "--opsladder-fail-on-live"
OPT_RERECORD_STALE = "--opsladder-rerecord-stale"
INI_FAIL_ON_LIVE = "opsladder_fail_on_live"
STALE_STASH = pytest.StashKey[list[str]]()
_WORKER_KEY = "opsladder_http_stale"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("opsladder")
    group.addoption(
        OPT_FAIL_ON_LIVE,
        dest="opsladder_fail_on_live",
        action="store_true",
        default=None,
        help="fail a test whose run sent an HTTP request that no cassette records "
        f"(a 'live' call). ini: {INI_FAIL_ON_LIVE}",
    )
    group.addoption(
        OPT_RERECORD_STALE,
        dest="opsladder_rerecord_stale",
        action="store_true",
        default=False,
        help="re-record only the cassettes whose variant fingerprint (model, prompt, params, "
        "tool schemas, SDK versions) changed since they were recorded",
    )
    parser.addini(INI_FAIL_ON_LIVE, "fail tests that make live HTTP calls", type="bool")
    parser.addini(
        "opsladder_stale_sdk",
        "which SDK version changes make a cassette stale: major (default), minor or exact",
        default="major",
    )


def fail_on_live(config: pytest.Config) -> bool:
    from pytest_opsladder.ini import ini_bool

    value = config.getoption("opsladder_fail_on_live")
    return ini_bool(config, INI_FAIL_ON_LIVE) if value is None else bool(value)


class HttpAccounting:
    """Per-session plugin object: hooks that need the config the hookspec does not pass."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_opsladder_run_finished(self, run: Run, cassette: Path | None) -> None:
        from pytest_opsladder.stash_keys import TALLY_KEY

        counts: dict[str, int] = run.extra.get("http") or {}
        tally = self.config.stash[TALLY_KEY]
        for outcome, n in counts.items():
            tally.add(f"http_{outcome}", n)
        stale = run.extra.get("stale")
        if stale:
            tally.add("stale")
            where = f" ({cassette})" if cassette else ""
            self.config.stash[STALE_STASH].append(f"{run.case.id}{where}: {'; '.join(stale)}")
        if counts.get("live") and fail_on_live(self.config):
            pytest.fail(_live_message(run, counts["live"]), pytrace=False)


def _live_message(run: Run, n: int) -> str:
    urls = [e.name for e in run.events_of("http") if e.data.get("outcome") == "live"]
    return (
        f"{n} live HTTP call(s) in run of case {run.case.id!r} ({OPT_FAIL_ON_LIVE}): "
        f"{', '.join(urls[:5])}. Record them (--opsladder-mode=record) or stop the agent "
        "from calling out."
    )


def pytest_configure(config: pytest.Config) -> None:
    from pytest_opsladder.exceptions import ConfigError
    from pytest_opsladder.http.errors import HttpConfigError
    from pytest_opsladder.http.stale import configure_sdk_level
    from pytest_opsladder.ini import named_origin

    try:
        with named_origin(config, "opsladder_stale_sdk"):
            configure_sdk_level(config)
    except (HttpConfigError, ConfigError) as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[STALE_STASH] = []
    config.pluginmanager.register(HttpAccounting(config), "opsladder-http-accounting")


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        lines: list[str] = session.config.stash[STALE_STASH]
        workeroutput[_WORKER_KEY] = [*lines]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: collect each worker's stale-cassette lines."""
    lines = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if lines:
        node.config.stash[STALE_STASH].extend(lines)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or STALE_STASH not in config.stash:
        return
    lines = config.stash[STALE_STASH]
    if not lines:
        return
    terminalreporter.write_sep("-", f"opsladder: {len(lines)} stale cassette(s)")
    for line in sorted(lines):
        terminalreporter.write_line(f"stale: {line}")
    terminalreporter.write_line(f"re-record only these with {OPT_RERECORD_STALE}")
