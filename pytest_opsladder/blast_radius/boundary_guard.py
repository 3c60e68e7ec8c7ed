"""One tool guard for ladder level 6: pause, environment, breaker and rate limit, in that order.

The order puts the cheapest refusal that matters most first: a pause stops every side effect;
an environment violation stops any call; an open breaker fails fast before a token is spent; the
limiter consumes last, so a call refused by anything else costs no budget.

Breakers also need each call's outcome, which a guard never sees: wrap the tool's function with
:meth:`BlastRadius.protect` (inside ``@tool``) so successes and failures are counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pytest_opsladder.blast_radius.breaker import CircuitBreaker
from pytest_opsladder.blast_radius.environments import EnvironmentScope
from pytest_opsladder.blast_radius.limiter import RateLimiter
from pytest_opsladder.blast_radius.pause import PauseSwitch
from pytest_opsladder.capture.boundary import register_tool_guard

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.tools import ToolSpec

CostFn = Callable[["ToolSpec", dict[str, Any]], float]
ANY_TOOL = "*"


class BlastRadius:
    """The level-6 controls of one workflow, enforced at the tool boundary."""

    def __init__(
        self,
        *,
        workflow: str = "default",
        pause: PauseSwitch | None = None,
        limits: Mapping[str, RateLimiter] | None = None,
        breakers: Mapping[str, CircuitBreaker] | None = None,
        breaker_settings: Mapping[str, Any] | None = None,
        scope: EnvironmentScope | None = None,
        cost: CostFn | None = None,
    ) -> None:
        self.workflow = scope.workflow if scope is not None else workflow
        self.pause = pause
        self.limits = dict(limits or {})
        self.breakers = dict(breakers or {})
        self.breaker_settings = dict(breaker_settings) if breaker_settings is not None else None
        self.scope = scope
        self.cost = cost
        self._keys: dict[str, str] = {}

    def breaker_for(self, tool: str) -> CircuitBreaker | None:
        """The tool's breaker; made from ``breaker_settings`` on first use if there are any."""
        breaker = self.breakers.get(tool)
        if breaker is None and self.breaker_settings is not None:
            breaker = self.breakers.setdefault(tool, CircuitBreaker(tool, **self.breaker_settings))
        return breaker

    def limiter_for(self, tool: str) -> RateLimiter | None:
        return self.limits.get(tool) or self.limits.get(ANY_TOOL)

    def guard(self, run: Run, spec: ToolSpec, args: dict[str, Any]) -> None:
        """Refuse the call by raising; see the module docstring for the order."""
        pause = self.pause
        if spec.outbound and pause is not None and pause.state().paused:
            pause.check(f"tool {spec.name!r}")
        if self.scope is not None:
            self.scope.check_args(spec.name, args)
        breaker = self.breakers.get(spec.name) or self.breaker_for(spec.name)
        if breaker is not None:
            breaker.check()
        limiter = self.limits.get(spec.name) or self.limits.get(ANY_TOOL)
        if limiter is not None:
            cost = self.cost(spec, args) if self.cost is not None else 1
            key = self._keys.get(spec.name) or self._keys.setdefault(
                spec.name, f"{self.workflow}:{spec.name}"
            )
            limiter.acquire(key, cost)

    def protect(self, tool: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator for a tool's function (put it under ``@tool``) that feeds its breaker."""

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            breaker = self.breaker_for(tool)
            if breaker is None:
                breaker = self.breakers.setdefault(tool, CircuitBreaker(tool))
            return breaker(fn)

        return deco

    def install(self, run: Run) -> Callable[[], None]:
        """Enforce on one run's boundary; returns a function that removes the guard."""
        if run.boundary is None:
            raise RuntimeError(f"run {run.run_id!r} has no tool boundary to guard yet")
        guards = run.boundary.guards
        guards.append(self.guard)
        return lambda: guards.remove(self.guard) if self.guard in guards else None

    def register(self) -> Callable[[], None]:
        """Enforce on every run in this process; returns a function that removes the guard."""
        return register_tool_guard(self.guard)
