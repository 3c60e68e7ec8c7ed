"""One HTTP exchange over httpx/httpx2 inside a run: replayed, or recorded as it streams.

A recorded interaction is stored once its body has been read to the end (or the reader
closed it). A stream cut mid-way by the transport (the peer closed, a reset, a read timeout)
is stored with what arrived, marked ``"partial": true``, and its ``error`` (see
:mod:`.failures`); replay yields the same chunks, then raises httpx's error for it. Any other
error while reading (the caller's own) is reported on the ``http`` event and not stored.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

from pytest_opsladder.exceptions import CassetteReplayError
from pytest_opsladder.http import retry_wait, vcr_format
from pytest_opsladder.http.bodies import (
    ENCODING_HEADERS,
    decode_body,
    decoder_for,
    encode_body,
    is_event_stream,
)
from pytest_opsladder.http.failures import (
    body_kind,
    classify,
    error_entry,
    event_error,
    httpx_error,
)
from pytest_opsladder.http.scrub import scrub_httpx_headers, scrub_url
from pytest_opsladder.http.store import HttpStore, Outcome
from pytest_opsladder.http.streams import recording_stream_class, replay_stream_class


class Exchange:
    """The request side is read up front (it is small); the response side is streamed."""

    def __init__(self, store: HttpStore, mod: ModuleType, request: Any, body: bytes) -> None:
        self.store = store
        self.mod = mod
        self.request = request
        self.body = body
        self.t0 = store.run.now()
        self.url = str(request.url)
        self.decision = store.decide(request.method, self.url, body)
        self.response: Any = None
        if not self.decision.outside:
            retry_wait.answered(None)  # until replay answers it from the cassette

    def _event(self, **data: Any) -> dict[str, Any]:
        return {"method": self.request.method, "url": scrub_url(self.url), **data}

    # -- replay ----------------------------------------------------------------------------
    def replay(self) -> Any:
        if self.decision.outcome is Outcome.BLOCKED:
            self.store.note(self.decision, self._event(), self.t0)
            raise self.store.miss_error(self.request.method, self.url, self.decision.canonical)
        assert self.decision.index is not None
        item, index = self.store.reuse(self.decision.index)
        if "response" not in item:  # a recorded transport failure: httpx's own error for it
            self._answered(may_retry=True)
            event = self._event(index=index)
            self.store.replayed_failure(self.decision, event, item["error"], self.t0)
            raise httpx_error(self.mod, item["error"], self.request)
        stored = item["response"]
        self._answered(may_retry=retry_wait.retryable(stored["status"]))
        chunks = _stored_chunks(stored)
        _check_encoding(stored, chunks, f"interaction {index} of {self.store.cassette}")
        event = self._event(status=stored["status"], index=index, chunks=len(chunks))
        cut = self._cut(item.get("error"), event)
        self.store.note(self.decision, event, self.t0)
        return self.mod.Response(
            stored["status"],
            headers=[(k, v) for k, vals in stored.get("headers", {}).items() for v in vals],
            stream=replay_stream_class(self.mod)(chunks, self.store.options, cut),
            extensions=_reason(stored),
        )

    def _answered(self, *, may_retry: bool) -> None:
        """An SDK retrying this replayed answer does not wait (see :mod:`.retry_wait`), unless
        replay keeps the recorded timing."""
        instant = not self.store.options.stream_timing
        retry_wait.answered(self.store if instant else None, may_retry=may_retry)

    def _cut(self, error: Any, event: dict[str, Any]) -> Any:
        """A stream recorded cut mid-body: its event says so, and its stream raises httpx's
        error for the cut once the recorded chunks are read."""
        if not isinstance(error, dict):
            return None
        event.update(error=event_error(error), error_kind=error["kind"])
        return functools.partial(httpx_error, self.mod, error, self.request)

    # -- record ----------------------------------------------------------------------------
    def failed(self, exc: BaseException) -> None:
        """The request failed before a response came (``exc``, raised on to the caller): a
        transport failure is noted, and stored when the run records; anything else is not."""
        kind = classify(exc)
        if kind is None:
            return
        error = error_entry(exc, kind)
        stored = functools.partial(self._failure, error)
        self.store.failed(self.decision, self._event(), stored, error, self.t0)

    def _failure(self, error: dict[str, Any]) -> dict[str, Any]:
        request = vcr_format.stored_request(self.request.method, self.url, (), self.body)
        request["headers"] = scrub_httpx_headers(self.request.headers)
        elapsed = round(self.store.run.now() - self.t0, 6)
        return {"request": request, "error": error, "transport": self.mod.__name__,
                "elapsed": elapsed}  # fmt: skip

    def wrap(self, response: Any) -> Any:
        """Let ``response`` through, keeping a copy of every chunk the caller reads."""
        self.response = response
        cls = recording_stream_class(self.mod)
        response.stream = cls(response.stream, self.store.run.now, self._finished)
        return response

    def _finished(
        self, chunks: list[tuple[float, bytes]], error: BaseException | None, early: bool
    ) -> None:
        status = self.response.status_code
        kind = body_kind(error) if error is not None else None
        if error is not None and kind is None:  # not the transport's: nothing to replay
            failure = f"{type(error).__name__}: {error}"
            event = self._event(status=status, error=failure, chunks=len(chunks), stored=False)
            self.store.note(self.decision, event, self.t0)
            return
        data = self._event(status=status, chunks=len(chunks))
        cut = error_entry(error, kind) if error is not None and kind is not None else None
        if cut is not None:
            data.update(error=event_error(cut), error_kind=kind)
        if early:
            data["closed_early"] = True
        if self.decision.outcome is Outcome.RECORDED:
            data["index"] = self.store.store(self._interaction(chunks, early, cut))
        elif self.decision.outcome is Outcome.LIVE and not self.decision.outside:
            self._keep_llm_summary(data, chunks, cut)
        self.store.note(self.decision, data, self.t0)

    def _keep_llm_summary(
        self, data: dict[str, Any], chunks: list[tuple[float, bytes]], cut: dict[str, Any] | None
    ) -> None:
        """A live LLM call that is not stored (shadow without a candidate cassette) keeps its
        derived llm_call on its http event: nothing else of it will remain to read later."""
        from pytest_opsladder.capture.llm import live_llm_summary

        if self.request.method.upper() != "POST":
            return
        item = self._summary_item(chunks)
        if cut is not None:
            item["response"]["partial"], item["error"] = True, cut
        summary = live_llm_summary(item)
        if summary is not None:
            data["llm"] = summary

    def _summary_item(self, chunks: list[tuple[float, bytes]]) -> dict[str, Any]:
        """What an LLM call is read from: the interaction as it would be stored, with only the
        response headers its body is decoded by (the summary holds none of them)."""
        got = self.response.headers
        headers = {k: got.get_list(k) for k in ("content-type", "content-encoding") if k in got}
        response = _with_body({"status": self.response.status_code}, headers, chunks)
        request = {"method": self.request.method.upper(), "url": self.url}
        request["body"] = encode_body(self.body) if self.body else None
        elapsed = round(self.store.run.now() - self.t0, 6)
        return {"request": request, "response": response, "elapsed": elapsed}

    def _interaction(
        self, chunks: list[tuple[float, bytes]], early: bool, cut: dict[str, Any] | None
    ) -> dict[str, Any]:
        status = {"status": self.response.status_code, "reason": self.response.reason_phrase}
        response = _with_body(status, scrub_httpx_headers(self.response.headers), chunks)
        if early:
            response["closed_early"] = True
        request = vcr_format.stored_request(self.request.method, self.url, (), self.body)
        request["headers"] = scrub_httpx_headers(self.request.headers)
        item = {
            "request": request,
            "response": response,
            "transport": self.mod.__name__,
            "elapsed": round(self.store.run.now() - self.t0, 6),
        }
        if cut is not None:  # the body stopped mid-way: what arrived, and how it stopped
            response["partial"] = True
            item["error"] = cut
        return item


def _with_body(
    response: dict[str, Any], headers: dict[str, list[str]], chunks: list[tuple[float, bytes]]
) -> dict[str, Any]:
    """``response`` with its headers and body added as they are stored: decoded (the encoding
    headers dropped with the encoding), a stream chunk by chunk."""
    if is_event_stream(headers):
        response["headers"], response["chunks"] = _decoded_chunks(headers, chunks)
    else:
        joined = b"".join(c for _, c in chunks)
        response["headers"], body = vcr_format.decoded_response_body(headers, joined)
        response["body"] = encode_body(body)
    return response


def _decoded_chunks(
    headers: dict[str, list[str]], chunks: list[tuple[float, bytes]]
) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    decoder = decoder_for(",".join(headers.get("content-encoding", [])))
    if decoder is None:
        return headers, [{"t": round(t, 6), **encode_body(c)} for t, c in chunks]
    out = [{"t": round(t, 6), **encode_body(decoder.feed(c))} for t, c in chunks]
    return {k: v for k, v in headers.items() if k not in ENCODING_HEADERS}, out


def _stored_chunks(stored: dict[str, Any]) -> list[tuple[float, bytes]]:
    if "chunks" in stored:
        return [(float(c.get("t", 0.0)), decode_body(c)) for c in stored["chunks"]]
    body = decode_body(stored.get("body"))
    return [(0.0, body)] if body else []


def _reason(stored: dict[str, Any]) -> dict[str, Any] | None:
    reason = stored.get("reason")
    return {"reason_phrase": reason.encode("ascii", "replace")} if reason else None


def _check_encoding(stored: dict[str, Any], chunks: list[tuple[float, bytes]], where: str) -> None:
    """Bodies are stored decoded; a Content-Encoding header left on one that does not decode
    (a hand-edited cassette) would fail inside the HTTP client: name it here instead."""
    encoding = ",".join(stored.get("headers", {}).get("content-encoding", []))
    decoder = decoder_for(encoding) if encoding else None
    if decoder is None or not chunks:
        return
    try:
        decoder.feed(b"".join(c for _, c in chunks))
    except Exception as exc:  # zlib.error, brotli.error: the body is not what the header says
        raise CassetteReplayError(
            f"{where}: the response says Content-Encoding {encoding!r} but its stored body "
            f"does not decode ({exc}). Remove the header or re-record the run."
        ) from exc
