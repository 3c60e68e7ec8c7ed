"""Fixtures of the nightmare-set tests: a pytester project with the agent and a baseline."""

from __future__ import annotations

import pytest
from nightmare_helpers import AGENT_CONFTEST


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester project with the agent and the baseline variant 'prod'."""
    pytester.makeini("[pytest]\nopsladder_baseline = prod\n")
    pytester.makeconftest(AGENT_CONFTEST)
    pytester.mkdir("nightmare_set")
    return pytester
