"""Fixtures of ladder level 4: unit-test a policy, and enforce it on every run of a test.

Configure the policy with ``--opsladder-policy FILE`` or ``opsladder_policy = FILE`` in the ini
file (relative to the rootdir), or override the ``opsladder_policy_file`` fixture. Every test's
tool calls are guarded by it, in every mode, replay and shadow too; a project that configures
none gets the built-in default policy (``default_policy.toml``, the rootdir as workspace).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.guardrails import enforce as _enforce  # noqa: F401 - registers event kinds

OPT_POLICY = "--opsladder-policy"
INI_POLICY = "opsladder_policy"
INI_ENVIRONMENT = "opsladder_policy_environment"
INI_WORKFLOW = "opsladder_policy_workflow"
_CACHE = pytest.StashKey[dict[tuple[str, str | None, str | None], Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("opsladder")
    group.addoption(
        OPT_POLICY,
        dest="opsladder_policy",
        default=None,
        metavar="FILE",
        help="guardrail policy (toml/yaml) enforced on every tool call. ini: opsladder_policy",
    )
    parser.addini(INI_POLICY, "guardrail policy file enforced on tool calls", default="")
    parser.addini(INI_ENVIRONMENT, "environment the guardrail policy is loaded for", default="")
    parser.addini(INI_WORKFLOW, "workflow the guardrail policy is loaded for", default="")


def _configured(config: pytest.Config) -> Path | None:
    value = config.getoption("opsladder_policy") or config.getini(INI_POLICY)
    return Path(config.rootpath) / value if value else None


def pytest_configure(config: pytest.Config) -> None:
    """Load a configured policy now, so a broken one stops the session with a usage error."""
    from pytest_opsladder.ini import named_origin

    path = _configured(config)
    if path is not None:
        with named_origin(config, INI_POLICY, dest="opsladder_policy", flag=OPT_POLICY):
            _load(config, path)


@pytest.fixture(scope="session")
def opsladder_policy_file(pytestconfig: pytest.Config) -> Path | None:
    """The configured policy file; None means the built-in default (override to pick one)."""
    return _configured(pytestconfig)


@pytest.fixture
def opsladder_guardrail_approver() -> Any:
    """Who answers ``ask`` decisions in tests (None: an ask stops the call). Override me."""
    return None


def _load(config: pytest.Config, path: Path | None) -> Any:
    from pytest_opsladder.guardrails.policy_load import default_policy, load_policy

    if path is None:
        cache = config.stash.setdefault(_CACHE, {})
        key: tuple[str, str | None, str | None] = ("<default>", None, str(config.rootpath))
        if key not in cache:
            cache[key] = default_policy(config.rootpath)
        return cache[key]

    environment = str(config.getini(INI_ENVIRONMENT)) or None
    workflow = str(config.getini(INI_WORKFLOW)) or None
    cache = config.stash.setdefault(_CACHE, {})
    key = (str(path), workflow, environment)
    if key not in cache:
        try:
            cache[key] = load_policy(path, workflow=workflow, environment=environment)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    return cache[key]


@pytest.fixture
def opsladder_policy(pytestconfig: pytest.Config, opsladder_policy_file: Path | None) -> Any:
    """The loaded policy (the built-in default without one) with ``decide``/``assert_*``."""
    from pytest_opsladder.guardrails.testing import PolicyTester

    return PolicyTester(_load(pytestconfig, opsladder_policy_file))


@pytest.fixture(autouse=True)
def _opsladder_guardrails(
    request: pytest.FixtureRequest, opsladder_policy_file: Path | None
) -> Iterator[None]:
    """Enforce the configured policy (or the built-in default) on every tool call of the test."""
    from pytest_opsladder.guardrails.enforce import Guardrails

    policy = _load(request.config, opsladder_policy_file)
    approver = request.getfixturevalue("opsladder_guardrail_approver")
    # The built-in default guards only the shell and SQL tools it names: a project without a
    # policy keeps every other tool call, and its run record, as it was.
    scoped_only = opsladder_policy_file is None
    with Guardrails(policy, approver=approver, scoped_only=scoped_only).enforce():
        yield
