"""aiohttp in a run: every body form recorded, streams kept chunk by chunk (ladder level 0).

vcrpy's aiohttp stub records the request it builds from ``data=`` or ``json=`` as it was given
(a dict, a ``FormData``), and reads a whole response before handing it on, so a stream of
server-sent events (LiteLLM's async streams) became one block. Three patches, stacked on
vcrpy's while runs are active (see :mod:`.dispatch`):

- ``ClientSession._request``: the body is serialized first, as aiohttp would send it (JSON,
  urlencoded form, multipart with a boundary derived from the content, so a replay matches),
  and sent as those bytes with the content type aiohttp would have set;
- the stub's ``record_response``: the live stream is tee'd chunk by chunk into the response the
  agent reads, each chunk kept with its time since the headers; the interaction is stored when
  the stream ends;
- the stub's ``build_response``: a replayed stream yields the recorded chunks one read at a time
  (and, for a stream recorded cut mid-body, then raises aiohttp's error for the cut).

A request that fails before its response (refused, unresolved, timed out, disconnected) is
recorded through ``_request`` too, and replayed as aiohttp's own error (see :mod:`.failures`).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from unittest import mock

from pytest_opsladder.http.bodies import ENCODING_HEADERS
from pytest_opsladder.http.failures import RecordedFailure, aiohttp_error, classify
from pytest_opsladder.http.store import LAST_REQUEST


def aiohttp_patchers(store: Any) -> Iterator[AbstractContextManager[Any]]:
    """The patches, for an installed aiohttp (none otherwise); enter them after vcrpy's."""
    try:
        from aiohttp import ClientSession
        from vcr.stubs import aiohttp_stubs
    except ImportError:
        return
    yield mock.patch.object(aiohttp_stubs, "record_response", _recorder(store, aiohttp_stubs))
    yield mock.patch.object(aiohttp_stubs, "build_response", _builder(aiohttp_stubs))
    yield _wrap_request(ClientSession, store)


@contextmanager
def _wrap_request(session_cls: Any, store: Any) -> Iterator[None]:
    """Wrap whatever ``_request`` is now (vcrpy's stub), read when entered, not when built."""
    inner = session_cls._request

    async def _request(self: Any, method: str, url: Any, **kwargs: Any) -> Any:
        target = _target(store)
        if target is None:
            return await inner(self, method, url, **kwargs)
        await _serialize_body(self, kwargs)
        asked = LAST_REQUEST.set(None)
        try:
            return await inner(self, method, url, **kwargs)
        except RecordedFailure as failure:  # replayed: the error aiohttp raises for it
            raise aiohttp_error(failure.error, failure.url) from None
        except Exception as exc:  # raised on as it is; recorded when a transport failure
            _record_failure(target, exc)
            raise
        finally:
            LAST_REQUEST.reset(asked)

    session_cls._request = _request
    try:
        yield
    finally:
        session_cls._request = inner


def _record_failure(target: Any, exc: BaseException) -> None:
    """vcrpy's stub asked the store about the request (``LAST_REQUEST``) and then failed to
    send it: the store records the failure against that request."""
    kind = classify(exc)
    request = LAST_REQUEST.get()
    if kind is not None and request is not None:
        target.fail(request, exc, kind)


def _target(store: Any) -> Any:
    """The concrete store of the caller's run, or None outside any recording run."""
    from pytest_opsladder.http.dispatch import PASSTHROUGH

    resolve = getattr(store, "resolve", None)
    target = resolve() if resolve is not None else store
    return None if target is PASSTHROUGH else target


# -- request bodies ---------------------------------------------------------------------------
async def _serialize_body(session: Any, kwargs: dict[str, Any]) -> None:
    data, js = kwargs.get("data"), kwargs.get("json")
    if js is not None and data is None:
        dumps = getattr(session, "_json_serialize", json.dumps)
        body, content_type = dumps(js).encode("utf-8"), "application/json"
        kwargs["json"] = None
    elif _is_raw(data):
        return
    else:
        body, content_type = await _payload_bytes(data)
    kwargs["data"] = body
    kwargs["headers"] = _with_content_type(kwargs.get("headers"), content_type)


def _is_raw(data: Any) -> bool:
    """Bodies vcrpy and aiohttp already take as they are: none, bytes, text, async streams."""
    return data is None or isinstance(data, bytes | bytearray | str) or hasattr(data, "__aiter__")


async def _payload_bytes(data: Any) -> tuple[bytes, str]:
    """What aiohttp would send for ``data`` (its own payload classes serialize it)."""
    from aiohttp import FormData, payload

    body: Any
    if isinstance(data, FormData):
        body = data()
    else:
        try:
            body = payload.PAYLOAD_REGISTRY.get(data, disposition=None)
        except payload.LookupError:
            body = FormData(data)()
    sink = _Sink()
    await body.write(sink)
    content = bytes(sink.data)
    boundary = getattr(body, "boundary", None)
    if boundary:
        return _fixed_boundary(content, str(body.content_type), str(boundary))
    return content, str(body.content_type)


class _Sink:
    """The writer a payload writes itself into."""

    def __init__(self) -> None:
        self.data = bytearray()

    async def write(self, chunk: bytes) -> None:
        self.data.extend(chunk)

    async def write_eof(self, chunk: bytes = b"") -> None:
        self.data.extend(chunk)


def _fixed_boundary(body: bytes, content_type: str, boundary: str) -> tuple[bytes, str]:
    """A multipart boundary derived from the content: aiohttp's is random, so the same form
    would never match its recording."""
    digest = hashlib.sha256(body.replace(boundary.encode(), b"")).hexdigest()[:32]
    fixed = f"opsladder-{digest}"
    return body.replace(boundary.encode(), fixed.encode()), content_type.replace(boundary, fixed)


def _with_content_type(headers: Any, content_type: str) -> Any:
    from multidict import CIMultiDict

    out: CIMultiDict[str] = CIMultiDict(headers or {})
    if "Content-Type" not in out:
        out["Content-Type"] = content_type
    return out


# -- recording streams ------------------------------------------------------------------------
def _recorder(store: Any, stubs: Any) -> Callable[..., Any]:
    original = stubs.record_response

    async def record_response(cassette: Any, vcr_request: Any, response: Any) -> None:
        target = _target(store)
        if target is None or getattr(response, "connection", None) is None:
            # outside a run, or a body already complete (a redirect's, a small reply)
            await original(cassette, vcr_request, response)
            return
        tee = _chunk_stream([])
        live, response.content = response.content, tee
        t0 = target.run.now()
        finish = _finisher(target, vcr_request, response, stubs, lambda: target.run.now() - t0)
        tee.pump = asyncio.get_running_loop().create_task(_pump(live, tee, finish, t0, target))

    return record_response


async def _pump(live: Any, tee: Any, finish: Any, t0: float, target: Any) -> None:
    chunks: list[tuple[float, bytes]] = []
    try:
        async for data in live.iter_any():
            chunks.append((target.run.now() - t0, bytes(data)))
            tee.feed_data(data)
    except BaseException as exc:  # the agent still sees the error; what came is recorded
        finish(chunks, exc)
        tee.set_exception(exc)
        if isinstance(exc, asyncio.CancelledError):
            raise
        return
    finish(chunks, None)
    tee.feed_eof()


def _finisher(
    target: Any, vcr_request: Any, response: Any, stubs: Any, elapsed: Callable[[], float]
) -> Callable[[list[tuple[float, bytes]], BaseException | None], None]:
    def finish(chunks: list[tuple[float, bytes]], error: BaseException | None) -> None:
        headers = {  # the chunks were decoded by aiohttp: no encoding to undo on replay
            k: v
            for k, v in stubs._serialize_headers(response.headers).items()
            if k.lower() not in ENCODING_HEADERS
        }
        body = {"string": b"".join(c for _, c in chunks), "chunks": chunks}
        status = {"code": response.status, "message": response.reason}
        response_dict = {"status": status, "headers": headers, "body": body}
        target.append(vcr_request, response_dict, error if isinstance(error, Exception) else None)

    return finish


# -- replaying streams ------------------------------------------------------------------------
def _builder(stubs: Any) -> Callable[..., Any]:
    original = stubs.build_response

    def build_response(vcr_request: Any, vcr_response: dict[str, Any], history: Any) -> Any:
        response = original(vcr_request, vcr_response, history)
        body = vcr_response.get("body", {})
        chunks, error = body.get("chunks"), body.get("error")
        if error:  # cut mid-body: the chunks that came, then aiohttp's error for the cut
            response.content = _chunk_stream(chunks or [body.get("string") or b""])
            response.content.cut = aiohttp_error(error, str(vcr_request.uri))
        elif chunks:
            response.content = _chunk_stream(chunks)
        return response

    return build_response


class _NoConnection:
    """The protocol a StreamReader pauses and resumes: here there is none to pause. It counts as
    connected, so a read waits for the recording pump's next chunk instead of failing."""

    _reading_paused = False
    connected = True

    def pause_reading(self) -> None:
        return None

    def resume_reading(self, resume_parser: bool = True) -> None:
        return None


@functools.cache
def _stream_class() -> type[Any]:
    from aiohttp import streams

    class Stream(streams.StreamReader):
        """aiohttp's own StreamReader (its whole API), handing out one chunk per read, so
        ``iter_any``/``iter_chunked``/``readany`` see the recorded chunk boundaries."""

        pump: Any = None  # the recording task feeding this stream, kept alive with it
        cut: BaseException | None = None  # replayed cut mid-body: raised once the chunks are read

        def _read_nowait(self, n: int) -> bytes:
            if not self._buffer and self.cut is not None:
                raise self.cut
            return self._read_nowait_chunk(n) if self._buffer else b""

        async def readuntil(self, separator: bytes = b"\n", **kwargs: Any) -> bytes:
            chunk = await super().readuntil(separator, **kwargs)
            if not chunk and self.cut is not None:
                raise self.cut
            return chunk

    return Stream


def _chunk_stream(chunks: list[Any]) -> Any:
    stream = _stream_class()(_NoConnection(), 2**16, loop=asyncio.get_running_loop())
    for chunk in chunks:
        stream.feed_data(chunk if isinstance(chunk, bytes) else chunk[1])
    if chunks:
        stream.feed_eof()
    return stream
