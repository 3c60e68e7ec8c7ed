"""httpx and httpx2 transports patched for the run, chunk by chunk (ladder level 0).

vcrpy's httpx stub reads a whole response before handing it on, which joins a stream of
server-sent events into one block; the OpenAI and Anthropic SDKs send over httpx2/httpx, so
these two are patched here (same places vcrpy patches: the transports' ``handle_request``)
with streams that keep each chunk and its timing. Everything else goes through vcrpy's stubs.
A request that fails at the transport is recorded as such and replayed as httpx's own error
(see :mod:`.failures`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any
from unittest import mock

from pytest_opsladder.http.exchange import Exchange
from pytest_opsladder.http.store import HttpStore, Outcome

MODULES = ("httpx", "httpx2")
_SYNC = ("HTTPTransport", "MockTransport", "WSGITransport")
_ASYNC = ("AsyncHTTPTransport", "MockTransport", "ASGITransport")


def transport_patchers(store: Any) -> Iterator[AbstractContextManager[Any]]:
    """``mock.patch`` objects for every httpx-like module that is installed."""
    for name in MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        for cls_name in _SYNC:
            cls = getattr(mod, cls_name)
            yield mock.patch.object(cls, "handle_request", _sync(store, mod, cls.handle_request))
        for cls_name in _ASYNC:
            cls = getattr(mod, cls_name)
            original = cls.handle_async_request
            yield mock.patch.object(cls, "handle_async_request", _async(store, mod, original))


def _target(store: Any) -> Any:
    """The concrete store for this request: a dispatching store resolves it once, up front."""
    resolve = getattr(store, "resolve", None)
    return resolve() if resolve is not None else store


def _sync(store: HttpStore, mod: ModuleType, original: Any) -> Any:
    def handle_request(transport: Any, request: Any) -> Any:
        exchange = Exchange(_target(store), mod, request, request.read())
        if exchange.decision.outside:
            return original(transport, request)
        if exchange.decision.outcome in (Outcome.REPLAYED, Outcome.BLOCKED):
            return exchange.replay()
        try:
            response = original(transport, request)
        except Exception as exc:  # raised on as it is; recorded when a transport failure
            exchange.failed(exc)
            raise
        return exchange.wrap(response)

    return handle_request


def _async(store: HttpStore, mod: ModuleType, original: Any) -> Any:
    async def handle_async_request(transport: Any, request: Any) -> Any:
        exchange = Exchange(_target(store), mod, request, await request.aread())
        if exchange.decision.outside:
            return await original(transport, request)
        if exchange.decision.outcome in (Outcome.REPLAYED, Outcome.BLOCKED):
            return exchange.replay()
        try:
            response = await original(transport, request)
        except Exception as exc:  # raised on as it is; recorded when a transport failure
            exchange.failed(exc)
            raise
        return exchange.wrap(response)

    return handle_async_request
