"""pytest side of model-graded checks (ladder level 7): ``--opsladder-judge=replay|live``."""

from __future__ import annotations

import pytest

from pytest_opsladder.choices import parse_choice
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.model_graded import check as _check  # noqa: F401 - registers the judge check
from pytest_opsladder.model_graded.scope import JudgeMode, set_judge_mode

OPT_JUDGE = "--opsladder-judge"
INI_JUDGE = "opsladder_judge"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("opsladder")
    group.addoption(
        OPT_JUDGE,
        dest="opsladder_judge",
        default=None,
        metavar="MODE",
        help="how shadow mode grades the candidate with judge checks: replay (default: only "
        "from the candidate's own cassette) or live (call the judge model). ini: opsladder_judge",
    )
    parser.addini(INI_JUDGE, "replay or live: judge calls of the shadow candidate", default="")


def judge_mode(config: pytest.Config) -> JudgeMode:
    """Command line, then ini, then replay; a bad value is named with where it was set."""
    from pytest_opsladder.ini import named_origin

    value = config.getoption("opsladder_judge") or config.getini(INI_JUDGE) or "replay"
    with named_origin(config, INI_JUDGE, dest="opsladder_judge", flag=OPT_JUDGE):
        return parse_choice(JudgeMode, value, setting="judge mode", error=pytest.UsageError)
    raise AssertionError("unreachable")  # pragma: no cover (mypy: the block returns or raises)


def pytest_configure(config: pytest.Config) -> None:
    try:
        set_judge_mode(judge_mode(config))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
