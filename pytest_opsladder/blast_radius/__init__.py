"""Ladder level 6, blast radius: keep the damage of a bad run small.

Circuit breakers per tool, rate limits per tool and workflow (in-process, SQLite, Redis), a
global pause that every side-effecting call checks at the tool boundary, and environments with
scoped credentials. :class:`BlastRadius` wires them into the run's tool boundary.
"""

from __future__ import annotations

from pytest_opsladder.blast_radius import pause_scope as pause_scope  # registers its run scope
from pytest_opsladder.blast_radius.boundary_guard import BlastRadius
from pytest_opsladder.blast_radius.breaker import BreakerState, CircuitBreaker
from pytest_opsladder.blast_radius.clocks import ManualClock
from pytest_opsladder.blast_radius.environments import Credential, EnvironmentScope, Vault
from pytest_opsladder.blast_radius.limiter import FailMode, RateLimiter
from pytest_opsladder.blast_radius.pause import PauseSwitch

__all__ = [
    "BlastRadius",
    "BreakerState",
    "CircuitBreaker",
    "Credential",
    "EnvironmentScope",
    "FailMode",
    "ManualClock",
    "PauseSwitch",
    "RateLimiter",
    "Vault",
]
