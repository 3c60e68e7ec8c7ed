"""A user's project configuration, as pytest reads it: the [tool.opsladder] tables come from the
file pytest configured itself from, and a section, option or value the plugin would not use is
a usage error naming the file and the fix, before any test runs (never a traceback, never late).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

XDIST = [[], ["-n", "2"]]

PYPROJECT = """
[tool.pytest.ini_options]
opsladder_baseline = "prod"
asyncio_default_fixture_loop_scope = "function"

[tool.opsladder.variants]
prod = {model = "m-prod"}
next = {model = "m-next"}
"""

# The agent answers with its model; the case passes when the model is the declared one.
TESTS = """
import pytest

@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(3))
def test_model(opsladder_run, opsladder_variant, i):
    opsladder_run.output = str(opsladder_variant.model)
    assert opsladder_variant.model in ("m-prod", "m-next")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", pyproject=PYPROJECT)
    tests = pytester.mkdir("tests")
    (tests / "test_agent.py").write_text(TESTS)
    return pytester


def _recorded_models(root: Path) -> set[str]:
    found = root.rglob("prod.json")
    return {json.loads(p.read_text())["run"]["variant"]["model"] for p in found}


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_variants_and_gate_come_from_the_config_file_under_another_rootdir(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    """`--rootdir tests` keeps pyproject.toml as pytest's config file: its variants are the
    session's (they were read from tests/pyproject.toml, which does not exist, so runs were
    recorded with no model and shadow mode found no candidate)."""
    result = project.runpytest("--rootdir", "tests", "--opsladder-mode=record", *xdist)
    result.assert_outcomes(passed=3)
    assert _recorded_models(Path(project.path)) == {"m-prod"}
    (Path(project.path) / "pyproject.toml").write_text(
        PYPROJECT + '\n[tool.opsladder.gate]\npass_rate = {worse = "lower", margin = 0.3}\n'
    )
    result = project.runpytest("--rootdir", "tests", "--opsladder-shadow", *xdist)
    result.assert_outcomes(passed=4)  # three cases and the gate
    doc = json.loads((Path(project.path) / "tests" / "reports" / "results.json").read_text())
    assert doc["candidate"]["name"] == "next"
    pass_rate = next(m for m in doc["metrics"] if m["name"] == "pass_rate")
    assert pass_rate["margin"] == 0.3


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            '[tool.opsladder.gates]\npass_rate = {worse = "lower", margin = 0.5}\n',
            "*[[]tool.opsladder.gates] is not a section*Did you mean [[]tool.opsladder.gate]?*",
        ),
        (
            '[tool.opsladder.price]\n"*" = {input = 1.0, output = 4.0}\n',
            "*[[]tool.opsladder.price] is not a section*Did you mean [[]tool.opsladder.prices]?*",
        ),
        (
            '[tool.opsladder]\nmode = "record"\n',
            "*the key 'mode' in [[]tool.opsladder] is not a section*[[]tool.pytest.ini_options]*",
        ),
    ],
    ids=["gates", "price", "mode"],
)
def test_a_section_the_plugin_does_not_read_is_a_usage_error(
    project: pytest.Pytester, table: str, expected: str
) -> None:
    """A misspelled [tool.opsladder.gate] was ignored: the default gate decided in silence."""
    (Path(project.path) / "pyproject.toml").write_text(PYPROJECT + table)
    for mode in ("--opsladder-mode=record", "--opsladder-shadow"):
        result = project.runpytest(mode)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: {project.path}*pyproject.toml: {expected}"])
        assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize(
    "where", ["ini", "option"], ids=["opsladder_gate_alert", "--opsladder-gate-alert"]
)
def test_a_bad_gate_alert_sink_is_refused_before_any_case_runs(
    project: pytest.Pytester, where: str
) -> None:
    """It was a traceback at the end of the session, after every candidate run, when the gate
    failed and the alert was raised."""
    project.runpytest("--opsladder-mode=record").assert_outcomes(passed=3)
    args = ["--opsladder-shadow", "--opsladder-fail-on-inconclusive"]
    if where == "ini":
        text = PYPROJECT.replace('opsladder_baseline = "prod"\n', 'opsladder_baseline = "prod"\n'
                            'opsladder_gate_alert = ["stderr", "pager:oncall"]\n')  # fmt: skip
        (Path(project.path) / "pyproject.toml").write_text(text)
    else:
        args += ["--opsladder-gate-alert", "stderr", "--opsladder-gate-alert", "pager:oncall"]
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --opsladder-gate-alert / opsladder_gate_alert*'pager' is not a valid sink "
            "type. Valid values are: stderr, file, webhook, command.*"
        ]
    )
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert not (Path(project.path) / "reports" / "results.json").exists()


@pytest.mark.parametrize(
    "name",
    ["opsladder_fail_on_inconclusive", "opsladder_fail_on_live", "opsladder_thread_context"],
)
@pytest.mark.parametrize("mode", ["--opsladder-mode=record", "--opsladder-shadow"])
def test_a_boolean_option_that_is_not_one_is_named_before_any_test_runs(
    project: pytest.Pytester, name: str, mode: str
) -> None:
    """pytest said `invalid truth value 'sure'`, naming neither option nor file, and only once
    the option was read: after every case (fail_on_inconclusive), at the first live call
    (fail_on_live), or never (fail_on_live in a suite without one)."""
    text = PYPROJECT.replace('opsladder_baseline = "prod"\n',
                             f'opsladder_baseline = "prod"\n{name} = "sure"\n')  # fmt: skip
    (Path(project.path) / "pyproject.toml").write_text(text)
    result = project.runpytest(mode)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: *pyproject.toml [[]tool.pytest.ini_options]: {name} has a value that is not "
            "true or false (*'sure'*). "
            f"Write {name} = true or {name} = false*"
        ]
    )
    result.stdout.no_fnmatch_line("*passed*")


BAD_RUN_CONFIGS = [
    ("{'record_mode': 'sometimes'}", "'sometimes' is not a valid record mode*Valid values are*"),
    ("{'record_mode': 3}", "opsladder_config['record_mode'] is 3; it must be one of: none*"),
    ("{'cassette_dir': 5}", "opsladder_config['cassette_dir'] is 5; it must be a directory*"),
    (
        "{'recordmode': 'all'}",
        "opsladder_config has the key 'recordmode'*did you mean 'record_mode'?*",
    ),
    ("{'allowed_host': ['loopback']}", "*key 'allowed_host'*did you mean 'allowed_hosts'?*"),
    (
        "['record_mode', 'all']",
        "the opsladder_config fixture returned ['record_mode', 'all']; return a dict such as*",
    ),
    ("None", "the opsladder_config fixture returned None; return a dict*"),
]


@pytest.mark.parametrize(("value", "expected"), BAD_RUN_CONFIGS)
def test_an_opsladder_config_the_plugin_cannot_use_fails_the_setup_with_its_fix(
    project: pytest.Pytester, value: str, expected: str
) -> None:
    """A wrong value was a traceback from the plugin's insides (`'NoneType' object has no
    attribute 'get'`, `unsupported operand type(s) for /`); a misspelled key was ignored, so
    `recordmode: all` recorded nothing new without a word."""
    project.makeconftest(f"import pytest\n\n@pytest.fixture\ndef opsladder_config():\n"
                         f"    return {value}\n")  # fmt: skip
    result = project.runpytest("--opsladder-mode=record")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*" + expected.replace("[", "[[]")])
    assert "pytest_opsladder/" not in result.stdout.str()  # no frame of the plugin's code
    assert not list(Path(project.path).rglob("*.json"))


def test_an_opsladder_config_key_of_a_users_own_scope_passes(project: pytest.Pytester) -> None:
    project.makeconftest(
        "import pytest\n\n@pytest.fixture\ndef opsladder_config():\n"
        "    return {'my_scope_setting': 1, 'record_mode': 'all'}\n"
    )
    project.runpytest("--opsladder-mode=record").assert_outcomes(passed=3)
