"""The ``opsladder_policy`` fixture and enforcement inside pytest, with and without xdist."""

from __future__ import annotations

import pytest

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])


@pytest.fixture
def project(pytester: pytest.Pytester, policy_toml: str) -> pytest.Pytester:
    pytester.mkdir("ws")
    pytester.makefile(".toml", policy=policy_toml)
    pytester.makeini("[pytest]\nopsladder_policy = policy.toml\n")
    return pytester


@XDIST
def test_teams_unit_test_their_policy(project: pytest.Pytester, xdist: list[str]) -> None:
    project.makepyfile(
        """
        def test_denied(opsladder_policy):
            opsladder_policy.assert_denied("run_shell", "rm -fr /", rule="shell:rm-recursive-force")
            opsladder_policy.assert_denied("refund", {"amount": 1000})

        def test_allowed(opsladder_policy):
            opsladder_policy.assert_allowed("run_shell", 'echo "rm -rf /"')

        def test_asks(opsladder_policy):
            opsladder_policy.assert_asks("search_orders", None, rule="malformed-arguments")

        def test_wrong_expectation(opsladder_policy):
            opsladder_policy.assert_allowed("run_shell", "git push --force")
        """
    )
    result = project.runpytest(*xdist)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["*expected run_shell('git push --force') to be allow*deny git:force-push*"]
    )


@XDIST
def test_the_configured_policy_guards_every_tool_call(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    project.makepyfile(
        """
        import pytest
        from pytest_opsladder import tool
        from pytest_opsladder.guardrails import GuardrailDenied, ApprovalRequired

        @tool
        def run_shell(command):
            return "ran"

        @tool(outbound=True)
        def send_email(to):
            return "sent"

        @pytest.mark.opsladder
        def test_denied(opsladder_run):
            with pytest.raises(GuardrailDenied):
                run_shell("rm -rf /")
            assert run_shell("ls") == "ran"

        @pytest.mark.opsladder
        def test_ask_without_approver(opsladder_run):
            with pytest.raises(ApprovalRequired):
                send_email("a@example.com")
        """
    )
    result = project.runpytest("--opsladder-mode=record", *xdist)
    result.assert_outcomes(passed=2)


def test_an_approver_fixture_answers_asks(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest

        @pytest.fixture
        def opsladder_guardrail_approver():
            return lambda request: "approve"
        """
    )
    project.makepyfile(
        """
        import pytest
        from pytest_opsladder import tool

        @tool(outbound=True)
        def send_email(to):
            return "sent"

        @pytest.mark.opsladder
        def test_approved(opsladder_run):
            assert send_email("a@example.com") == "sent"
            assert opsladder_run.events_of("guardrail_approval")[0].data["outcome"] == "approved"
        """
    )
    project.runpytest("--opsladder-mode=record").assert_outcomes(passed=1)


def test_the_policy_is_loaded_for_the_configured_environment(project: pytest.Pytester) -> None:
    project.makeini(
        "[pytest]\nopsladder_policy = policy.toml\nopsladder_policy_environment = prod\n"
    )
    project.makepyfile(
        """
        def test_prod(opsladder_policy):
            opsladder_policy.assert_asks("refund", {"amount": 5}, rule="prod-refunds-ask")
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_broken_policy_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml", policy='[[rules]]\nid = "r"\ntools = ["x"]\ndecision = "allow"\nextra = 1\n'
    )
    pytester.makepyfile("def test_x(opsladder_policy):\n    pass\n")
    result = pytester.runpytest("--opsladder-policy=policy.toml")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*policy.toml, rule 'r': unknown key(s) ?'extra'?*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_without_a_policy_the_built_in_default_applies(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_opsladder import Case, RunRecorder, Variant, tool
        from pytest_opsladder.guardrails import GuardrailDenied, ApprovalRequired

        @tool(name="run_shell")
        def run_shell(command):
            return "ran " + command

        @tool(name="lookup")
        def lookup(key):
            return key

        def test_fixture(opsladder_policy):
            opsladder_policy.assert_allowed("run_shell", "git diff HEAD~1")
            opsladder_policy.assert_asks("run_shell", "fakeroot ls")
            opsladder_policy.assert_denied("run_shell", "git reset --har origin/main")
            assert opsladder_policy.policy.name == "opsladder-default"

        def test_enforced_on_tool_calls():
            with RunRecorder(Case("c"), Variant("v"), None) as run:
                assert run_shell("ls -la") == "ran ls -la"
                assert lookup("k") == "k"
                with pytest.raises(GuardrailDenied, match="reset-hard"):
                    run_shell("git reset --hard")
                with pytest.raises(ApprovalRequired):
                    run_shell("make deploy")
            kinds = [(e.kind, e.name) for e in run.events if e.kind == "guardrail_decision"]
            assert ("guardrail_decision", "lookup") not in kinds
            assert len(kinds) == 3
        """
    )
    # In a subprocess: the session running this test enforces its own default policy.
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_the_option_is_in_help(pytester: pytest.Pytester) -> None:
    pytester.runpytest("--help").stdout.fnmatch_lines(["*--opsladder-policy=FILE*"])
