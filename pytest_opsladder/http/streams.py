"""Chunk-faithful response streams for httpx and httpx2 (ladder level 0).

Recording: the real response stream is wrapped, so the agent reads each chunk as the server
sends it while a copy is kept with its time since the headers arrived. Replay: the recorded
chunks are yielded with their original boundaries, instantly or with the recorded gaps times
``stream_timing``. Both classes are built per module (httpx, httpx2) because each checks that
a response stream is an instance of its own ``SyncByteStream`` / ``AsyncByteStream``.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from types import ModuleType
from typing import Any

from pytest_opsladder.http.config import HttpOptions

Finish = Callable[[list[tuple[float, bytes]], BaseException | None, bool], None]
Cut = Callable[[], Exception] | None  # a stream recorded cut mid-body: the error after its chunks


class _ReplayMixin:
    def __init__(
        self, chunks: list[tuple[float, bytes]], opts: HttpOptions, cut: Cut = None
    ) -> None:
        self._chunks = chunks
        self._opts = opts
        self._cut = cut

    def _gaps(self) -> Iterator[tuple[float, bytes]]:
        factor, last = self._opts.stream_timing, 0.0
        for t, data in self._chunks:
            yield (max(t - last, 0.0) * factor if factor else 0.0), data
            last = t

    def __iter__(self) -> Iterator[bytes]:
        for gap, data in self._gaps():
            if gap:
                self._opts.sleep(gap)
            yield data
        if self._cut is not None:
            raise self._cut()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _ReplayChunks(self._gaps(), self._opts, self._cut)

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class _ReplayChunks:
    """The recorded chunks as an async iterator that is not an async generator: a client that
    stops reading at the end of the events (the SDKs stop at ``[DONE]``) leaves nothing for
    the event loop to finalize. An async generator left suspended was closed by the loop's
    finalizer hook, late: at interpreter exit, on a loop no longer running, that printed 'Task
    was destroyed but it is pending!'."""

    def __init__(self, gaps: Iterator[tuple[float, bytes]], opts: HttpOptions, cut: Cut) -> None:
        self._gaps = gaps
        self._opts = opts
        self._cut = cut

    def __aiter__(self) -> _ReplayChunks:
        return self

    async def __anext__(self) -> bytes:
        try:
            gap, data = next(self._gaps)
        except StopIteration:
            if self._cut is not None:
                raise self._cut() from None
            raise StopAsyncIteration from None
        if gap:
            await self._opts.async_sleep(gap)
        return data


def _finished_already(
    chunks: list[tuple[float, bytes]], error: BaseException | None, early: bool
) -> None:
    """A recording stream's callback once it has finished: there is nothing left to record."""


def _no_clock() -> float:
    return 0.0


class _RecordingMixin:
    def __init__(self, inner: Any, clock: Callable[[], float], finish: Finish) -> None:
        self._inner = inner
        self._clock = clock
        self._t0 = clock()
        self._finish_cb = finish
        self._chunks: list[tuple[float, bytes]] = []
        self._done = False

    def _add(self, data: bytes) -> None:
        self._chunks.append((self._clock() - self._t0, bytes(data)))

    def _finish(self, error: BaseException | None = None, closed_early: bool = False) -> None:
        if not self._done:
            self._done = True
            finish, chunks = self._finish_cb, self._chunks
            # The callback is the exchange's, which holds the response that holds this stream:
            # let go of it, of the chunks (now stored) and of the run's clock, so that the
            # response, its request and the connection's objects are freed when the caller
            # drops them and not left as a cycle for the collector (about 80 objects a request,
            # which set off its passes); and a client that keeps its responses in cycles of its
            # own (httpx 0.x) does not keep the run alive with them.
            self._finish_cb, self._chunks, self._clock = _finished_already, [], _no_clock
            finish(chunks, error, closed_early)

    def __iter__(self) -> Iterator[bytes]:
        try:
            for data in self._inner:
                self._add(data)
                yield data
        except GeneratorExit:
            self._finish(closed_early=True)
            raise
        except BaseException as exc:
            self._finish(error=exc)
            raise
        self._finish()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._inner:
                self._add(data)
                yield data
        except GeneratorExit:
            self._finish(closed_early=True)
            raise
        except BaseException as exc:
            self._finish(error=exc)
            raise
        self._finish()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._finish(closed_early=True)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._finish(closed_early=True)


@functools.cache
def replay_stream_class(mod: ModuleType) -> type[Any]:
    """The replay stream class for ``mod`` (httpx or httpx2)."""
    bases = (_ReplayMixin, mod.SyncByteStream, mod.AsyncByteStream)
    return type("OpsladderReplayStream", bases, {})


@functools.cache
def recording_stream_class(mod: ModuleType) -> type[Any]:
    """The recording wrapper class for ``mod`` (httpx or httpx2)."""
    bases = (_RecordingMixin, mod.SyncByteStream, mod.AsyncByteStream)
    return type("OpsladderRecordingStream", bases, {})
