"""The shadow summary in the terminal shows recorded text, it does not let the terminal act on it.

A regressed case's reason (the user's assertion message, a tool's error) is recorded text: an
ANSI escape in it cleared the screen or recoloured the summary, and a bidi override reordered
it (Trojan source). It is shown as escapes, as the CLI does. (Case ids are already safe: pytest
escapes parameter ids and nightmare case ids are checked against a character rule.)
"""

from __future__ import annotations

import pytest

CONFTEST = """
import pytest
from pytest_opsladder import Variant

def pytest_opsladder_variants():
    return [Variant("prod"), Variant("next", params={"broken": 1})]

@pytest.fixture
def opsladder_agent(opsladder_variant):
    def agent(case_input):
        return {"n": 0 if opsladder_variant.params.get("broken") else case_input["n"]}
    return agent
"""

PLAIN = """
import pytest

@pytest.mark.opsladder
def test_count(opsladder_agent, opsladder_variant):
    got = opsladder_agent({"n": 3})
    assert got == {"n": 3}, "count went wrong\\x1b[2J\\x1b[31m RED \\u202eevil"
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_regressed_cases_reason_is_shown_as_escapes(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".toml", pyproject='[tool.pytest.ini_options]\nopsladder_baseline = "prod"\n')
    pytester.makepyfile(test_plain=PLAIN)
    pytester.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=1)

    shadow = pytester.runpytest("--opsladder-shadow", "--opsladder-candidate=next", *xdist)
    lines = shadow.stdout.lines
    start = next(i for i, line in enumerate(lines) if "regressed cases (" in line)
    block = [lines[start]]  # the opsladder block, not pytest's own failure text after it
    block += [line for line in lines[start + 1 :] if line.startswith("    ")][:2]
    summary = "\n".join(block)
    assert "\x1b" not in summary
    assert "\u202e" not in summary
    assert "count went wrong\\u001b[2J\\u001b[31m RED \\u202eevil" in summary  # the reason
