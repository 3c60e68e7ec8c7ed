"""Pieces of the scratch projects the tests/llm sessions write with pytester: a user's
conftest wiring and fixtures, and the project files themselves, written once here."""

from __future__ import annotations

from collections.abc import Iterable

import pytest


def write_project(
    pytester: pytest.Pytester, conftest: str, pyproject: str, cases: Iterable[tuple[str, str]]
) -> None:
    """conftest.py, pyproject.toml, and ``nightmare_set/<id>.yaml`` for each (id, case file
    text) pair (see :func:`ask_cases`)."""
    pytester.makeconftest(conftest)
    pytester.makefile(".toml", pyproject=pyproject)
    folder = pytester.path / "nightmare_set"
    folder.mkdir()
    for case_id, text in cases:
        (folder / f"{case_id}.yaml").write_text(text)


def ask_cases(n: int, check: str = "answer", pad: int = 1) -> list[tuple[str, str]]:
    """``n`` cases ``case-<i>`` asking ``q<i>``, each checked with ``contains: <check>``."""
    ids = [f"case-{i:0{pad}}" for i in range(n)]
    return [(cid, ask_case(cid, f"{{q: q{i}}}", check)) for i, cid in enumerate(ids)]


def ask_case(case_id: str, case_input: str, check: str = "answer") -> str:
    return f"id: {case_id}\ninput: {case_input}\nchecks:\n  - contains: {check}\n"


# The end of a shadow project's conftest.py: two variants, and the agent ``make_agent``
# (defined above it) served to the test items and to shadow's concurrent runs.
SHADOW_WIRING = """
def pytest_opsladder_variants():
    return [Variant("prod", model="gpt-4.1"), Variant("next", model="gpt-4.1-next")]

@pytest.fixture
def opsladder_agent(opsladder_variant):
    return make_agent(opsladder_variant)

def pytest_opsladder_build_agent(config, variant, case, workdir):
    return make_agent(variant)
"""

PRICED_PYPROJECT = """
[tool.pytest.ini_options]
opsladder_baseline = "prod"

[tool.opsladder.prices]
"*" = {input = 1.0, output = 4.0}
"""

# A test module's head: ``ask(q)`` asks the variant's model on the wire server (WIRE_URL).
ASK_FIXTURE = """
import os
import pytest
from openai import OpenAI

@pytest.fixture
def ask(opsladder_variant):
    client = OpenAI(base_url=os.environ["WIRE_URL"] + "/v1", api_key="sk-test", max_retries=0)
    def run(q):
        reply = client.chat.completions.create(
            model=opsladder_variant.model, messages=[{"role": "user", "content": q}])
        return reply.choices[0].message.content
    return run
"""
