"""A bad value of any opsladder setting is refused naming where it came from: ``-o name=value``
on the command line (or in PYTEST_ADDOPTS, or in the ini file's addopts), the flag, or the
config file and its table.

Before, ``pytest -o opsladder_fail_on_live=x`` said 'pyproject.toml: opsladder_fail_on_live
has a value that is not true or false', sending the user to a file that does not hold it, and
most other settings named no place at all ('--opsladder-epochs / opsladder_epochs must be ...').
"""

from __future__ import annotations

from pathlib import Path

import pytest

PYPROJECT = """
[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"
{ini}
[tool.opsladder.variants]
prod = {{model = "m-prod"}}
next = {{model = "m-next"}}
"""


def pyproject(**ini: str) -> str:
    """The project's pyproject.toml, its baseline prod unless ``ini`` sets another."""
    values = {"opsladder_baseline": "prod", **ini}
    return PYPROJECT.format(ini="".join(f'{k} = "{v}"\n' for k, v in values.items()))


# (ini key, a bad value, the flag that sets it too, what the error says about the value)
BAD_VALUES = [
    ("opsladder_fail_on_live", "x", None, "has a value that is not true or false"),
    ("opsladder_fail_on_inconclusive", "sure", None, "has a value that is not true or false"),
    ("opsladder_thread_context", "2", None, "has a value that is not true or false"),
    ("opsladder_epochs", "0", "--opsladder-epochs", "must be a whole number of at least 1"),
    ("opsladder_concurrency", "x", "--opsladder-concurrency", "must be a whole number"),
    ("opsladder_divergence", "sideways", "--opsladder-divergence", "not a valid divergence"),
    ("opsladder_record_mode", "sometimes", "--opsladder-record-mode", "not a valid record mode"),
    ("opsladder_workers", "x", "--opsladder-workers", "must be a whole number of at least 1"),
    ("opsladder_workers_timeout", "soon", None, "must be a number of seconds"),
    ("opsladder_stale_sdk", "patch", None, "is not a valid level"),
    ("opsladder_judge", "sometimes", "--opsladder-judge", "is not a valid judge mode"),
    ("opsladder_gate_alert", "pager:oncall", "--opsladder-gate-alert", "not a valid sink type"),
    ("opsladder_baseline", "nope", None, "unknown variant 'nope'"),
    ("opsladder_candidate", "nope", "--opsladder-candidate", "unknown variant 'nope'"),
]
IDS = [case[0] for case in BAD_VALUES]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", pyproject=pyproject())
    pytester.makepyfile(test_agent="def test_x():\n    pass\n")
    return pytester


def _refused(result: pytest.RunResult) -> str:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "Traceback" not in err + result.stdout.str()
    return err


@pytest.mark.parametrize(("name", "value", "flag", "says"), BAD_VALUES, ids=IDS)
def test_a_bad_value_given_with_o_names_the_o_option_not_the_file(
    project: pytest.Pytester, name: str, value: str, flag: str | None, says: str
) -> None:
    err = _refused(project.runpytest("--opsladder-shadow", "-o", f"{name}={value}"))
    where = f"-o {name}={value} on the command line"
    assert err.startswith((f"ERROR: {where}: ", f"ERROR: {flag} / {name} ({where}): ")), err
    assert says in err
    assert "pyproject.toml" not in err


@pytest.mark.parametrize(("name", "value", "flag", "says"), BAD_VALUES, ids=IDS)
def test_a_bad_value_in_the_file_names_the_file_and_its_table(
    project: pytest.Pytester, name: str, value: str, flag: str | None, says: str
) -> None:
    (Path(project.path) / "pyproject.toml").write_text(pyproject(**{name: value}))
    err = _refused(project.runpytest("--opsladder-shadow"))
    assert f"{project.path / 'pyproject.toml'} [tool.pytest.ini_options]" in err, err
    assert says in err


@pytest.mark.parametrize(
    ("name", "value", "flag", "says"), [case for case in BAD_VALUES if case[2]],
    ids=[case[0] for case in BAD_VALUES if case[2]],
)  # fmt: skip
def test_a_bad_value_of_a_flag_names_the_flag(
    project: pytest.Pytester, name: str, value: str, flag: str, says: str
) -> None:
    err = _refused(project.runpytest("--opsladder-shadow", f"{flag}={value}"))
    assert f"{flag}={value}" in err
    assert says in err
    assert "pyproject.toml" not in err


def test_the_fix_is_written_the_way_the_value_was_given(project: pytest.Pytester) -> None:
    err = _refused(project.runpytest("-o", "opsladder_fail_on_live=x"))
    assert "Write -o opsladder_fail_on_live=true or -o opsladder_fail_on_live=false" in err
    (Path(project.path) / "pyproject.toml").write_text(pyproject(opsladder_fail_on_live="x"))
    err = _refused(project.runpytest())
    assert "Write opsladder_fail_on_live = true or opsladder_fail_on_live = false" in err


def test_o_given_through_pytest_addopts_or_the_files_addopts_says_so(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -o opsladder_epochs=0")
    err = _refused(project.runpytest())
    assert err.startswith("ERROR: -o opsladder_epochs=0 in PYTEST_ADDOPTS: "), err
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")
    (Path(project.path) / "pyproject.toml").unlink()
    project.makeini("[pytest]\naddopts = -o opsladder_epochs=0\n")
    err = _refused(project.runpytest())
    assert err.startswith(f"ERROR: -o opsladder_epochs=0 in the addopts of {project.path}"), err


@pytest.mark.parametrize(
    ("filename", "table"),
    [("pytest.ini", "[pytest]"), ("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")],
)
def test_other_config_files_are_named_with_their_section(
    project: pytest.Pytester, filename: str, table: str
) -> None:
    (Path(project.path) / "pyproject.toml").unlink()
    (Path(project.path) / filename).write_text(f"{table}\nopsladder_thread_context = maybe\n")
    err = _refused(project.runpytest())
    assert err.startswith(f"ERROR: {project.path / filename} {table}: "), err


def test_a_default_that_does_not_fit_is_named_as_the_default(project: pytest.Pytester) -> None:
    """The file exists but does not set the baseline: it is not the file's value."""
    text = pyproject().replace('opsladder_baseline = "prod"\n', "")
    (Path(project.path) / "pyproject.toml").write_text(text)
    err = _refused(project.runpytest())
    assert err.startswith(
        "ERROR: opsladder_baseline, not set (its default): unknown variant 'baseline'"
    ), err
