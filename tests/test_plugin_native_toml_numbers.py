"""pytest 9's native ``[tool.pytest]`` table keeps TOML values as they are: the numeric settings
take a TOML number, as a user of that table writes them.

Before, ``opsladder_epochs = 3`` there stopped the session with pytest's "config option
'opsladder_epochs' expects a string, got int: 3" (the settings were registered as text), and a
native ``0`` would have read as "not set" (``0 or None``) and silently become the default.
"""

from __future__ import annotations

import pytest
from _pytest.config import argparsing

pytestmark = pytest.mark.skipif(
    not hasattr(argparsing, "_ini_type_to_member"),
    reason="this pytest reads no ini type unions: numbers there must be written as strings",
)

CONFTEST = """
import pytest_opsladder
from pytest_opsladder.drift.workers import TIMEOUT_KEY, WORKERS_KEY

def pytest_report_header(config):
    s = pytest_opsladder.settings(config)
    return (f"numbers epochs={s.epochs} concurrency={s.concurrency} "
            f"workers={config.stash[WORKERS_KEY]} timeout={config.stash[TIMEOUT_KEY]}")
"""


def _project(pytester: pytest.Pytester, table: str, body: str) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".toml", pyproject=f"{table}\n{body}")
    pytester.makepyfile(test_agent="def test_x():\n    pass\n")


def test_numbers_in_the_native_table_are_read_as_numbers(pytester: pytest.Pytester) -> None:
    _project(pytester, "[tool.pytest]", "opsladder_epochs = 3\nopsladder_concurrency = 2\n"
             "opsladder_workers = 2\nopsladder_workers_timeout = 1.5\n")  # fmt: skip
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["numbers epochs=3 concurrency=2 workers=2 timeout=1.5"])


def test_text_still_works_in_the_native_table(pytester: pytest.Pytester) -> None:
    _project(pytester, "[tool.pytest]", 'opsladder_epochs = "2"\nopsladder_workers = "auto"\n'
             "opsladder_workers_timeout = 0\n")  # fmt: skip
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["numbers epochs=2 concurrency=1 workers=* timeout=0.0"])


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("opsladder_epochs = 0", "opsladder_epochs must be a whole number of at least 1, got '0'"),
        ("opsladder_workers = 0", "must be a whole number of at least 1 or 'auto', got '0'"),
        ("opsladder_workers_timeout = -1", "must be a number of seconds (0 or more), got '-1'"),
        ("opsladder_concurrency = 1.5", "opsladder_concurrency"),  # not a whole number
        ("opsladder_epochs = true", "opsladder_epochs"),
    ],
)
def test_a_bad_native_number_is_refused_not_read_as_unset(
    pytester: pytest.Pytester, body: str, says: str
) -> None:
    _project(pytester, "[tool.pytest]", body + "\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = result.stdout.str() + result.stderr.str()
    assert says in out
    assert "pyproject.toml" in out


def test_the_ini_options_table_reads_as_before(pytester: pytest.Pytester) -> None:
    _project(pytester, "[tool.pytest.ini_options]", "opsladder_epochs = 3\n"
             'opsladder_concurrency = "2"\n')  # fmt: skip
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["numbers epochs=3 concurrency=2 workers=1 timeout=None"])
