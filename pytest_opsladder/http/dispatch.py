"""One set of HTTP patches for the whole process, dispatching to the run a request comes from.

Patching is process-wide (vcrpy's stubs, our httpx transports, the socket guard). When every
run patched and unpatched on its own, two runs in two threads interleaved their ``mock.patch``
stops and left the process patched after both ended (and the first to end unpatched the
other mid-run). Here the first active run installs the patches, the last one removes them,
and every patched call asks :func:`resolve` for the store of the run its caller is in; code
outside any recording run (a monitor thread, an exporter) passes through untouched.

A batch of runs (shadow's candidate runs) holds the patches in for its whole length
(:func:`held`): building vcrpy's patchers and entering them costs about a millisecond, which
runs one after another (concurrency 1, or a gap between runs) paid once each.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any
from unittest import mock

from pytest_opsladder.capture.run import current_run

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.http.store import HttpStore

_LOCK = threading.Lock()
_STORES: dict[Run, tuple[HttpStore, bool]] = {}  # run -> (its store, does it block the network)
_PATCHES = ExitStack()
_HOLDS = [0]  # batches holding the patches in (see held())


class _NoRun:
    def now(self) -> float:
        return 0.0


class _Passthrough:
    """The store of code that runs in no recording run: every request goes out unrecorded."""

    write_protected = False
    run = _NoRun()

    def can_play_response_for(self, request: Any) -> bool:
        return False

    def filter_request(self, request: Any) -> Any:
        return request

    def append(self, request: Any, response: Any) -> None:
        return None

    def fail(self, request: Any, exc: BaseException, kind: str) -> None:
        return None

    def decide(self, method: str, url: str, body: bytes | None) -> Any:
        from pytest_opsladder.http.store import Decision, Outcome

        return Decision(Outcome.LIVE, None, outside=True)  # type: ignore[arg-type]


PASSTHROUGH = _Passthrough()


def resolve() -> Any:
    """The store of the run the caller is in, or the pass-through store."""
    run = current_run()
    entry = _STORES.get(run) if run is not None else None
    return entry[0] if entry is not None else PASSTHROUGH


class DispatchStore:
    """What the process-wide patches are bound to: forwards to :func:`resolve`'s store."""

    custom_patches: tuple[Any, ...] = ()
    skip_patchers: tuple[str, ...] = ("httpx", "httpx2")  # ours, chunk-faithful (.transport)
    _path = "opsladder-dispatch"

    def resolve(self) -> Any:
        return resolve()

    @property
    def write_protected(self) -> bool:
        return bool(resolve().write_protected)

    def __getattr__(self, name: str) -> Any:
        return getattr(resolve(), name)


def register(run: Run, store: HttpStore, *, blocks_network: bool) -> None:
    """The run's requests go to ``store`` from now on; patches go in with the first run."""
    with _LOCK:
        if not _in_use():
            _install()
        _STORES[run] = (store, blocks_network)


def unregister(run: Run) -> None:
    with _LOCK:
        _STORES.pop(run, None)
        if not _in_use():
            _PATCHES.close()


@contextmanager
def held() -> Iterator[None]:
    """The patches stay in from here to the end of the block, between its runs too (calls
    made outside any run pass through, as they do while another run is active); removed at
    its end unless a run or another hold still needs them."""
    with _LOCK:
        if not _in_use():
            _install()
        _HOLDS[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _HOLDS[0] -= 1
            if not _in_use():
                _PATCHES.close()


def _in_use() -> bool:
    """Whether a run or a hold needs the patches in (asked under ``_LOCK``)."""
    return bool(_STORES) or _HOLDS[0] > 0


class _AllButAiohttp(DispatchStore):
    skip_patchers = (*DispatchStore.skip_patchers, "aiohttp")


_BUILT: list[Any] = []  # vcrpy's patchers but its aiohttp stub's, built at the first install
_RESETS: list[Any] = []  # [what vcrpy's force_reset puts back] (see .vcr_reset), or [None]


def preload() -> None:
    """Import and build what the first run's patches need (vcrpy, the HTTP stacks it patches,
    its patchers: 0.1 to 0.5 s) without installing anything. A shadow controller about to fork
    its workers does it once for all of them, instead of once in each."""
    with _LOCK:
        _build()


def _build() -> None:
    # vcrpy's patchers are built once (its optional-library imports, a cassette subclass per
    # patched class: about a millisecond) and entered again at each install; its aiohttp
    # stub's are not among them (see _vcr_aiohttp_stub).
    from vcr.patch import CassettePatcherBuilder

    import pytest_opsladder.http.aiohttp_patch
    import pytest_opsladder.http.transport  # noqa: F401
    from pytest_opsladder.http.vcr_reset import class_resets

    if not _BUILT:
        _BUILT.extend(CassettePatcherBuilder(_AllButAiohttp()).build())
        _RESETS.append(class_resets())


def _install() -> None:
    from pytest_opsladder.http.aiohttp_patch import aiohttp_patchers
    from pytest_opsladder.http.transport import transport_patchers
    from pytest_opsladder.http.vcr_failures import connection_patchers
    from pytest_opsladder.http.vcr_reset import ResetWindows

    _build()
    dispatch = DispatchStore()
    try:
        for patcher in [*_BUILT, *_vcr_aiohttp_stub(dispatch), *transport_patchers(dispatch)]:
            _PATCHES.enter_context(patcher)
        for patcher in aiohttp_patchers(dispatch):  # stacked on vcrpy's aiohttp stub
            _PATCHES.enter_context(patcher)
        for patcher in connection_patchers(dispatch):  # transport failures (see .vcr_failures)
            _PATCHES.enter_context(patcher)
        if _RESETS[0] is not None:  # vcrpy's stubs open real connections without unpatching
            _PATCHES.enter_context(ResetWindows(_RESETS[0]))
        _PATCHES.enter_context(_socket_guard())
    except BaseException:
        _PATCHES.close()
        raise


def _vcr_aiohttp_stub(dispatch: DispatchStore) -> list[Any]:
    """vcrpy's aiohttp patch, built anew at each install: entered a second time, the same
    patch no longer lets aiohttp's live stream through chunk by chunk (tried, issue 18).
    (vcrpy builds it in ``_aiohttp``, a generator of patchers for an installed aiohttp;
    _AllButAiohttp skips it by its group name.)"""
    from vcr.patch import CassettePatcherBuilder

    return list(CassettePatcherBuilder(dispatch)._aiohttp())


def _socket_guard() -> ExitStack:
    """Refuse non-loopback connections from the runs that block the network (replay)."""
    from pytest_opsladder.http.netguard import check_connection

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        run = current_run()
        entry = _STORES.get(run) if run is not None else None
        if entry is not None and entry[1]:
            check_connection(sock, address, entry[0].options)

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    stack = ExitStack()
    stack.enter_context(mock.patch.object(socket.socket, "connect", connect))
    stack.enter_context(mock.patch.object(socket.socket, "connect_ex", connect_ex))
    return stack
