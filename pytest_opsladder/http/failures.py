"""Transport errors are part of the recording (ladder level 0).

A request that fails before it gets a response (connection refused, a name that does not
resolve, a connect or read timeout, a connection reset or closed without a response) is stored
as an interaction with an ``error`` instead of a ``response``::

    {"request": {...}, "error": {"version": 1, "kind": "connect_refused",
                                 "class": "httpx.ConnectError", "message": "..."},
     "transport": "httpx", "elapsed": seconds}

``kind`` is library-neutral (:data:`KINDS`); ``class`` and ``message`` say what the recording
client raised (the message scrubbed of credentials). On replay a matching request raises the
error the *replaying* client library raises for that kind (httpx's ``ConnectError``, requests'
``ConnectionError`` through urllib3, aiohttp's ``ClientConnectorError`` ...), so an SDK on top
(openai, anthropic) turns it into the same ``APIConnectionError`` / ``APITimeoutError`` and an
agent that handled the failure live handles it again offline. Each attempt of a retrying
client is its own interaction, replayed in recorded order like any repeated request.

A failure *after* the response headers (a stream cut mid-body: the peer closed, a reset, a read
timeout between chunks) keeps both: the ``response`` with what arrived, marked
``"partial": true``, and the ``error`` (:func:`body_kind`). Replay yields the recorded chunks,
then raises the replaying client's own error for the kind mid-body.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

ERROR_VERSION = 1
KINDS = (
    "connect_refused",  # nothing listens on the port
    "dns",  # the host name did not resolve
    "connect_timeout",  # no connection within the client's connect timeout
    "connect_error",  # any other failure to connect (unreachable network, ...)
    "read_timeout",  # connected and sent, no response within the read timeout
    "write_timeout",  # the request could not be sent within the write timeout
    "reset",  # the connection was reset or closed before a response came
    "incomplete_body",  # the response began, then the peer closed before its body ended
)

# The classes the patched HTTP libraries raise for a transport failure, by name (most derived
# first when read along an exception's MRO): httpx/httpx2, urllib3, http.client, aiohttp.
_NAMED = {
    "ClientConnectorDNSError": "dns",
    "NameResolutionError": "dns",
    "ConnectTimeout": "connect_timeout",
    "ConnectionTimeoutError": "connect_timeout",
    "ReadTimeout": "read_timeout",
    "ReadTimeoutError": "read_timeout",
    "SocketTimeoutError": "read_timeout",
    "ServerTimeoutError": "read_timeout",
    "WriteTimeout": "write_timeout",
    "ConnectError": "connect_error",
    "NewConnectionError": "connect_error",
    "ClientConnectorError": "connect_error",
    "ConnectTimeoutError": "connect_timeout",
    "RemoteProtocolError": "reset",
    "ReadError": "reset",
    "WriteError": "reset",
    "ServerDisconnectedError": "reset",
    "RemoteDisconnected": "reset",
    "ClientConnectionResetError": "reset",
    "ProtocolError": "reset",
    "ClientPayloadError": "incomplete_body",
    "IncompleteRead": "incomplete_body",
}
_NETWORK_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNABORTED, errno.ETIMEDOUT,
     errno.EADDRNOTAVAIL, errno.ENETDOWN, errno.EHOSTDOWN}
)  # fmt: skip
_CONNECT_KINDS = ("connect_error", "connect_timeout")
_OBJECT_REPR = re.compile(r"<[^<>]*? object at 0x[0-9a-fA-F]+>:?\s*")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>()]+")


class RecordedFailure(Exception):
    """A stored transport error on its way from the store to the patched client, which raises
    its own library's exception for it (see :func:`httpx_error` and the others)."""

    def __init__(self, error: dict[str, Any], url: str) -> None:
        super().__init__(f"{error.get('kind')}: {error.get('message')}")
        self.error = error
        self.url = url


# -- recording ----------------------------------------------------------------------------------
def classify(exc: BaseException) -> str | None:
    """The kind of transport failure ``exc`` is, or None when it is not one (an error of the
    caller's own code, a pool timeout, a cancellation): those propagate unrecorded."""
    if not isinstance(exc, Exception):
        return None
    kind = _named_kind(exc)
    chain = list(_chain(exc))
    if kind is None:
        kind = _builtin_kind(chain)
    if kind in (*_CONNECT_KINDS, None):
        kind = _connect_detail(chain) or kind
    return kind


def body_kind(exc: BaseException) -> str | None:
    """The kind of a failure while a response body streamed in (after its headers): a peer
    that closed the connection mid-body is ``incomplete_body``, a reset stays ``reset``."""
    kind = classify(exc)
    if kind != "reset":
        return kind
    if any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in _chain(exc)):
        return "reset"
    return "incomplete_body"


def _named_kind(exc: BaseException) -> str | None:
    for cls in type(exc).__mro__:
        kind = _NAMED.get(cls.__name__)
        if kind is not None and cls.__module__.split(".")[0] != "builtins":
            return kind
    return None


def _builtin_kind(chain: list[BaseException]) -> str | None:
    """Python's own socket errors (http.client raises them as they are)."""
    for exc in chain:
        if isinstance(exc, socket.gaierror):
            return "dns"
        if isinstance(exc, ConnectionRefusedError):
            return "connect_refused"
        if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return "reset"
        if isinstance(exc, TimeoutError):
            return "read_timeout"
        if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
            return "connect_error"
    return None


def _connect_detail(chain: list[BaseException]) -> str | None:
    """A failed connection's cause, when the chain names one: refused, or a name unresolved."""
    for exc in chain:
        if isinstance(exc, socket.gaierror) or _NAMED.get(type(exc).__name__) == "dns":
            return "dns"
    for exc in chain:
        if isinstance(exc, ConnectionRefusedError):
            return "connect_refused"
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes, and the errors it wraps (urllib3's ``reason``, aiohttp's
    ``os_error``), each once."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(seen) < 32:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        yield item
        context = None if item.__suppress_context__ else item.__context__
        todo.extend([item.__cause__ or context, getattr(item, "reason", None)])
        todo.extend([getattr(item, "os_error", None), *item.args])


def error_entry(exc: BaseException, kind: str) -> dict[str, Any]:
    """The ``error`` of a stored interaction for ``exc`` (credentials scrubbed from the text)."""
    cls = type(exc)
    module = cls.__module__.split(".")[0]
    name = cls.__name__ if module == "builtins" else f"{module}.{cls.__name__}"
    return {"version": ERROR_VERSION, "kind": kind, "class": name, "message": _message(exc)}


def _message(exc: BaseException) -> str:
    from pytest_opsladder.http.scrub import scrub_url
    from pytest_opsladder.secrets import redact_secrets

    text = _OBJECT_REPR.sub("", str(exc)) or type(exc).__name__
    text = _URL.sub(lambda m: scrub_url(m.group(0)), text)
    return str(redact_secrets({"message": text})["message"])


def event_error(error: dict[str, Any]) -> str:
    """How an ``http`` event names a failed request: ``<class>: <message>``."""
    return f"{error.get('class')}: {error.get('message')}"


# -- replaying ----------------------------------------------------------------------------------
def httpx_error(mod: ModuleType, error: dict[str, Any], request: Any) -> Exception:
    """The exception httpx (or httpx2) raises for a failure of this kind."""
    message = str(error.get("message") or error["kind"])
    recorded = str(error.get("class") or "")
    own = recorded.split(".", 1)
    same = getattr(mod, own[1], None) if len(own) == 2 and own[0] == mod.__name__ else None
    transport_error = mod.TransportError
    if isinstance(same, type) and issubclass(same, transport_error):
        cls: Any = same
    else:
        cls = getattr(mod, _HTTPX[error["kind"]])
    exc: Exception = cls(message, request=request)
    return exc


_HTTPX = {
    "connect_refused": "ConnectError",
    "dns": "ConnectError",
    "connect_error": "ConnectError",
    "connect_timeout": "ConnectTimeout",
    "read_timeout": "ReadTimeout",
    "write_timeout": "WriteTimeout",
    "reset": "RemoteProtocolError",
    "incomplete_body": "RemoteProtocolError",
}


def connection_error(real_connection: Any, error: dict[str, Any], url: str) -> Exception:
    """The exception a vcrpy-wrapped connection's real one raises from ``getresponse``:
    urllib3's connection classes (under requests and urllib3) wrap socket errors in their own,
    which urllib3's pool turns into what the caller sees; http.client raises them as they are."""
    if _is_urllib3(real_connection):
        return _urllib3_error(real_connection, error, url)
    return _socket_error(error)


def _is_urllib3(connection: Any) -> bool:
    """By name along the MRO: while runs are active, vcrpy has replaced the class
    ``urllib3.connection.HTTPConnection`` names with its stub (the real one is the base)."""
    return any(c.__module__.split(".")[0] == "urllib3" for c in type(connection).__mro__)


def _socket_error(error: dict[str, Any]) -> Exception:
    import http.client

    message, kind = str(error.get("message") or error["kind"]), error["kind"]
    if kind == "dns":
        return socket.gaierror(socket.EAI_NONAME, message)
    if kind == "connect_refused":
        return ConnectionRefusedError(errno.ECONNREFUSED, message)
    if kind in ("connect_timeout", "read_timeout", "write_timeout"):
        return TimeoutError(message)
    if kind == "incomplete_body":
        return http.client.IncompleteRead(b"")
    if kind == "reset":
        if str(error.get("class", "")).endswith("RemoteDisconnected"):
            return http.client.RemoteDisconnected(message)
        return ConnectionResetError(errno.ECONNRESET, message)
    return OSError(errno.EHOSTUNREACH, message)


def _urllib3_error(conn: Any, error: dict[str, Any], url: str) -> Exception:
    from urllib3 import exceptions

    message, kind = str(error.get("message") or error["kind"]), error["kind"]
    if kind == "dns":
        host = urlsplit(url).hostname or ""
        return exceptions.NameResolutionError(host, conn, socket.gaierror(message))
    if kind == "connect_timeout":
        return exceptions.ConnectTimeoutError(conn, message)
    if kind in ("connect_refused", "connect_error"):
        return exceptions.NewConnectionError(conn, message)
    return _socket_error(error)  # read timeouts and resets: urllib3's pool wraps them


def aiohttp_error(error: dict[str, Any], url: str) -> Exception:
    """The exception aiohttp raises for a failure of this kind."""
    from aiohttp import client_exceptions as ce

    message, kind = str(error.get("message") or error["kind"]), error["kind"]
    recorded = str(error.get("class", ""))
    if kind in ("connect_refused", "connect_error", "dns"):
        code = errno.ECONNREFUSED if kind == "connect_refused" else errno.EHOSTUNREACH
        cls = ce.ClientConnectorDNSError if kind == "dns" else ce.ClientConnectorError
        return cls(_connection_key(url), OSError(code, message))
    if kind == "connect_timeout":
        return ce.ConnectionTimeoutError(message)
    if recorded == "TimeoutError":  # the session's total timeout: asyncio's, as it is
        return TimeoutError(message)
    if kind in ("read_timeout", "write_timeout"):
        return ce.SocketTimeoutError(message)
    if recorded.endswith("ServerDisconnectedError"):
        return ce.ServerDisconnectedError(message)
    if kind == "incomplete_body":
        return ce.ClientPayloadError(message)
    return ce.ClientOSError(errno.ECONNRESET, message)


def _connection_key(url: str) -> Any:
    from aiohttp.client_reqrep import ConnectionKey

    parts = urlsplit(url)
    is_ssl = parts.scheme in ("https", "wss")
    port = parts.port or (443 if is_ssl else 80)
    return ConnectionKey(parts.hostname or "", port, is_ssl, True, None, None, None, None)
