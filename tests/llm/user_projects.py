"""Pieces of the scratch projects the tests/llm sessions write with pytester: a user's
conftest wiring and fixtures, written once here."""

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
