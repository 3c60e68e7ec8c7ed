"""Ladder level 6: a workflow reads only its own credentials; staging cannot reach prod."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_opsladder.blast_radius.boundary_guard import BlastRadius
from pytest_opsladder.blast_radius.environments import Credential, EnvironmentSpec, Vault
from pytest_opsladder.blast_radius.errors import (
    BlastRadiusConfigError,
    CredentialScopeError,
    EnvironmentViolationError,
)
from pytest_opsladder.capture.boundary import ToolBoundary
from pytest_opsladder.capture.run import Run, activate
from pytest_opsladder.capture.tools import tool
from pytest_opsladder.capture.variant import Case, Variant

PROD_KEY = "sk_live_5f2a9c0d7e"
STAGING_KEY = "sk_test_1b3d5f7a9c"
CHARGES: list[tuple[str, str]] = []


@pytest.fixture
def charge() -> Callable[..., str]:
    """An outbound payment tool, defined per test (the tool registry is restored after)."""
    CHARGES.clear()

    @tool(outbound=True)
    def charge(api_url: str, api_key: str, amount: int) -> str:
        CHARGES.append((api_url, api_key))
        return "charged"

    return charge


def vault() -> Vault:
    return Vault(
        [
            EnvironmentSpec("prod", ("api.pay.example.com", "*.prod.example.com"), ("sk_live_",)),
            EnvironmentSpec("staging", ("sandbox.pay.example.com", "*.staging.example.com")),
        ],
        [
            Credential("payments", PROD_KEY, "prod", frozenset({"billing"})),
            Credential("payments", STAGING_KEY, "staging", frozenset({"billing"})),
            Credential("crm", "crm-staging-token", "staging", frozenset({"support"})),
        ],
    )


def guarded_run(scope_env: str, workflow: str = "billing") -> tuple[Run, Vault]:
    v = vault()
    run = Run(Case("c"), Variant("v"))
    run.boundary = ToolBoundary()
    BlastRadius(scope=v.scope(scope_env, workflow)).install(run)
    return run, v


def test_a_workflow_reads_only_its_own_credentials() -> None:
    v = vault()
    assert v.scope("staging", "billing").credential("payments") == STAGING_KEY
    assert v.scope("prod", "billing").credential("payments") == PROD_KEY
    with pytest.raises(CredentialScopeError, match=r"'support' in environment 'prod'.*'crm'"):
        v.scope("prod", "support").credential("crm")
    with pytest.raises(CredentialScopeError, match=r"'billing'.*'crm'"):
        v.scope("staging", "billing").credential("crm")


def test_a_staging_run_cannot_reach_a_production_target(charge: Callable[..., str]) -> None:
    run, v = guarded_run("staging")
    key = v.scope("staging", "billing").credential("payments")
    with activate(run):
        assert charge("https://sandbox.pay.example.com/v1", key, 5) == "charged"
        with pytest.raises(EnvironmentViolationError, match="belongs to 'prod'"):
            charge("https://api.pay.example.com/v1", key, 5)
        with pytest.raises(EnvironmentViolationError, match="belongs to 'prod'"):
            charge("https://db.prod.example.com:5432/x", key, 5)
    assert CHARGES == [("https://sandbox.pay.example.com/v1", STAGING_KEY)]
    events = run.events_of("environment_blocked")
    assert [e.data["environment"] for e in events] == ["staging", "staging"]


def test_a_staging_workflow_holding_a_production_key_is_refused(
    charge: Callable[..., str],
) -> None:
    run, _ = guarded_run("staging")
    with activate(run), pytest.raises(EnvironmentViolationError) as info:
        charge("https://sandbox.pay.example.com/v1", PROD_KEY, 5)
    assert "argument $.api_key of tool 'charge'" in str(info.value)
    assert "key of environment 'prod'" in str(info.value)
    assert PROD_KEY not in str(info.value)  # the message never shows the secret
    assert CHARGES == []


def test_a_production_key_shaped_secret_is_refused_even_if_unregistered(
    charge: Callable[..., str],
) -> None:
    run, _ = guarded_run("staging")
    with activate(run), pytest.raises(EnvironmentViolationError, match="'prod'"):
        charge("https://sandbox.pay.example.com/v1", "sk_live_never_seen_before", 5)


def test_a_production_key_in_the_process_environment_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAYMENTS_KEY", PROD_KEY)
    scope = vault().scope("staging", "billing")
    with pytest.raises(EnvironmentViolationError, match=r"\$PAYMENTS_KEY.*'prod'") as info:
        scope.check_environ()
    assert PROD_KEY not in str(info.value)
    vault().scope("prod", "billing").check_environ()  # prod may hold its own key


def test_nested_arguments_are_checked() -> None:
    scope = vault().scope("staging", "billing")
    with pytest.raises(EnvironmentViolationError, match=r"\$\.cfg\.targets\[1\]"):
        scope.check_args("t", {"cfg": {"targets": ["ok", PROD_KEY]}})


def test_unknown_hosts_follow_the_scope_policy() -> None:
    strict = vault().scope("staging", "billing")
    with pytest.raises(EnvironmentViolationError, match="not declared by any environment"):
        strict.check_target("https://example.org/")
    vault().scope("staging", "billing", unknown_targets="allow").check_target("https://example.org")
    with pytest.raises(BlastRadiusConfigError, match="Valid values are: allow, deny"):
        vault().scope("staging", "billing", unknown_targets="warn")


def test_prod_reaches_prod_and_not_staging() -> None:
    scope = vault().scope("prod", "billing")
    scope.check_target("https://api.pay.example.com/v1")
    with pytest.raises(EnvironmentViolationError, match="belongs to 'staging'"):
        scope.check_target("sandbox.pay.example.com")


def test_an_undeclared_environment_lists_the_declared_ones() -> None:
    with pytest.raises(BlastRadiusConfigError, match=r"'qa' is not declared.*prod, staging"):
        vault().scope("qa", "billing")
