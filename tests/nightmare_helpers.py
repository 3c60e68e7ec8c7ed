"""Helpers of the nightmare-set tests: a tiny agent project for pytester and case files.

An importable module (not conftest.py), so the tests import it the same way under `pytest` and
`python -m pytest`."""

from __future__ import annotations

import textwrap

import pytest

AGENT_CONFTEST = textwrap.dedent(
    """
    import pytest
    from pytest_opsladder import tool

    @tool
    def lookup(q):
        return {"found": q}

    @pytest.fixture
    def opsladder_agent():
        def agent(case_input):
            lookup(str(case_input.get("q")))
            return {"answer": "refund " + str(case_input.get("q")), "tags": ["billing"]}
        return agent
    """
)


def case_yaml(
    case_id: str, q: str = "x", tags: tuple[str, ...] = ("billing",), **extra: str
) -> str:
    lines = [
        f"id: {case_id}",
        f"input: {{q: {q}}}",
        "checks:",
        "  - contains: {path: answer, value: refund}",
        "  - tool_trajectory: {mode: strict, calls: [lookup]}",
        f"tags: [{', '.join(tags)}]",
    ]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def write_case(pytester: pytest.Pytester, name: str, text: str) -> None:
    (pytester.path / "nightmare_set" / name).write_text(text, encoding="utf-8")
