"""The ``@tool`` decorator and decision points: how agent actions enter the run (level 0).

A wrapped tool called outside a run is just the function. Inside a run, the call goes through
the run's tool boundary, which records it (record/production), returns what was recorded
(replay), or replays it from the baseline (shadow). Tools declare side effects with
``outbound=True`` so that no mode other than a live recording can ever trigger them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.jsonable import canonical_json
from pytest_opsladder.capture.run import _CURRENT, Run, on_run_end
from pytest_opsladder.capture.variant import content_hash

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ToolSpec:
    """What the boundary knows of a tool: identity, parameters and declared side effects."""

    name: str
    fn: Callable[..., Any]
    outbound: bool = False
    is_async: bool = False
    params: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    simple: bool = True  # no *args/**kwargs/positional-only: binding by zip is exact

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Arguments by name, defaults included, so f(1) and f(1, limit=10) record alike."""
        if self.simple and len(args) <= len(self.params):
            bound = dict(self.defaults)
            bound.update(zip(self.params, args, strict=False))
            bound.update(kwargs)
            return bound
        sig = inspect.signature(self.fn).bind(*args, **kwargs)
        sig.apply_defaults()
        return dict(sig.arguments)

    def schema(self) -> dict[str, Any]:
        return dict(self._schema)

    @functools.cached_property
    def _schema(self) -> dict[str, Any]:
        """Read once per tool: every run that ends hashes the schemas of its tools."""
        sig = inspect.signature(self.fn)
        return {
            "name": self.name,
            "outbound": self.outbound,
            "params": [[p.name, str(p.annotation), str(p.kind)] for p in sig.parameters.values()],
            "returns": str(sig.return_annotation),
            "doc": inspect.getdoc(self.fn) or "",
        }


_TOOLS: dict[str, ToolSpec] = {}


def registered_tools() -> dict[str, ToolSpec]:
    return dict(_TOOLS)


def tools_schema_hash(names: list[str] | None = None) -> str:
    """Fingerprint of the tool schemas: changing a tool's signature or docs changes it."""
    specs = [_TOOLS[n] for n in sorted(_TOOLS if names is None else names) if n in _TOOLS]
    return content_hash(canonical_json([s.schema() for s in specs]))


def _make_spec(fn: Callable[..., Any], name: str | None, outbound: bool) -> ToolSpec:
    sig = inspect.signature(fn)
    kinds = {p.kind for p in sig.parameters.values()}
    simple = not kinds & {
        inspect.Parameter.VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD,
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.KEYWORD_ONLY,
    }
    return ToolSpec(
        name=name or fn.__name__,
        fn=fn,
        outbound=outbound,
        is_async=inspect.iscoroutinefunction(fn),
        params=tuple(sig.parameters),
        defaults={
            k: p.default for k, p in sig.parameters.items() if p.default is not inspect._empty
        },
        simple=simple,
    )


@overload
def tool(fn: F, /) -> F: ...
@overload
def tool(*, name: str | None = None, outbound: bool = False) -> Callable[[F], F]: ...


def tool(
    fn: F | None = None, /, *, name: str | None = None, outbound: bool = False
) -> F | Callable[[F], F]:
    """Wrap a sync or async tool so that every call is captured in the current run.

    ``outbound=True`` declares a side effect on the outside world (sending, publishing,
    deleting): such a tool is never executed in replay or shadow mode.
    """

    def deco(func: F) -> F:
        spec = _make_spec(func, name, outbound)
        _TOOLS[spec.name] = spec
        wrapper = _async_wrapper(spec) if spec.is_async else _sync_wrapper(spec)
        functools.update_wrapper(wrapper, func)
        wrapper.opsladder_tool = spec  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco(fn) if fn is not None else deco


def _sync_wrapper(spec: ToolSpec) -> Callable[..., Any]:
    fn = spec.fn

    def call_tool(*args: Any, **kwargs: Any) -> Any:
        run = _CURRENT.get()
        if run is None or run.boundary is None:
            return fn(*args, **kwargs)
        return run.boundary.call(run, spec, spec.bind(args, kwargs), args, kwargs)

    return call_tool


def _async_wrapper(spec: ToolSpec) -> Callable[..., Any]:
    fn = spec.fn

    async def call_tool(*args: Any, **kwargs: Any) -> Any:
        run = _CURRENT.get()
        if run is None or run.boundary is None:
            return await fn(*args, **kwargs)
        return await run.boundary.acall(run, spec, spec.bind(args, kwargs), args, kwargs)

    return call_tool


def decision(
    name: str, chosen: Any, alternatives: list[Any] | tuple[Any, ...] = (), reason: str = ""
) -> Any:
    """Record a decision point of the agent in the current run and return ``chosen``."""
    run = _CURRENT.get()
    if run is not None:
        run.emit(
            ev.DECISION,
            name,
            {"chosen": chosen, "alternatives": list(alternatives), "reason": reason},
        )
    return chosen


@on_run_end
def _hash_called_tools(run: Run) -> None:
    # The schemas of the tools this run called, not of every tool the process registered:
    # a tool defined elsewhere must not make this run's cassette look stale.
    run.tools_hash = tools_schema_hash(sorted({e.name for e in run.events_of("tool_call")}))
