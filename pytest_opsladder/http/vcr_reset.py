"""vcrpy's ``force_reset`` without unpatching the other threads (ladder level 0).

vcrpy's stubs (requests, urllib3, http.client, boto3, httplib2) build, connect and send their
real connection inside ``vcr.patch.force_reset()``, which puts back every original vcrpy
patched - the connection classes, httpx's transports, ... - for the whole process meanwhile:
the real ``http.client.HTTPSConnection.__init__`` names its own class
(``super(HTTPSConnection, self)``) and would find the stub there. A request another thread
made in that window was not intercepted (urllib3 built a real connection, httpx called the real
transport): in shadow at concurrency 2 over requests, 2 to 5 candidate runs in 10 lost their
model call (never recorded: tokens and cost missing).

While our patches are in, :class:`ResetWindows` stands in for ``force_reset``:

- Only the attributes vcrpy resets to a *class* are put back, for the threads inside a window
  (a real connection's code may name its class); functions and tables (httpx's and tornado's
  methods, httplib2's scheme map) stay patched: a real connection's code never calls them.
- Each real class put back gets an ``__init__`` (from install to removal) that, in any thread
  *outside* every window, turns the instance into the stub vcrpy patched in: a class read
  from a module during another thread's window, or kept from then, still makes an
  intercepted connection. Threads inside a window make real ones, as before. (Not a
  ``__new__``: CPython cannot take an assigned ``__new__`` back, ``object.__new__`` then
  refuses the class's arguments.)

This leans on vcrpy's internals: its stubs import ``force_reset`` from ``vcr.patch`` at each
call, and ``vcr.patch.reset_patchers()`` yields ``mock.patch.object`` patchers naming what it
resets. :func:`class_resets` accepts the vcrpy 9.x this package requires (from 9.4; checked on
9.4.2) when those shapes are there; any other vcrpy keeps its own ``force_reset`` (racy, as
before: a request lost that way leaves its run's usage missing, never 0).
"""

from __future__ import annotations

import re
import threading
from types import TracebackType
from typing import Any


class _Depth(threading.local):
    depth = 0  # how many windows this thread is inside


_LOCAL = _Depth()
_TESTED = ((9, 4), (10, 0))  # vcrpy versions whose stubs and reset_patchers are as used here


def _version(text: str) -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", text)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def class_resets() -> list[tuple[Any, str, type]] | None:
    """(owner, attribute, real class) of each class vcrpy's force_reset puts back, or None
    when this vcrpy is not one whose internals are known (then nothing is replaced)."""
    import vcr
    import vcr.patch

    low, high = _TESTED
    if not low <= _version(getattr(vcr, "__version__", "0")) < high:
        return None
    if not callable(getattr(vcr.patch, "force_reset", None)):
        return None
    out = []
    for patcher in getattr(vcr.patch, "reset_patchers", lambda: ())():
        getter, name = getattr(patcher, "getter", None), getattr(patcher, "attribute", None)
        if getter is None or not isinstance(name, str):
            return None
        if isinstance(patcher.new, type):
            out.append((getter(), name, patcher.new))
    return out


def _guarded_init(real: type, init: Any) -> Any:
    """``__init__`` of a guarded real class: outside every window, the instance becomes the
    stub (``__class__`` is reassigned: both are plain classes) and is made as the stub is."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        stub = _STUBS.get(real) if type(self) is real and not _LOCAL.depth else None
        if stub is not None and _become(self, stub):
            stub.__init__(self, *args, **kwargs)
        else:  # a thread in a window, a subclass's instance, or no stub to give
            init(self, *args, **kwargs)

    return __init__


def _become(instance: Any, stub: type) -> bool:
    try:
        instance.__class__ = stub
    except TypeError:  # a stub whose layout differs (slots): a real one, as vcrpy made it
        return False
    return True


_STUBS: dict[type, Any] = {}  # real class -> what stood in its place when a window opened


class ResetWindows:
    """Entered once our patches (vcrpy's among them) are in, exited before they come out."""

    def __init__(self, resets: list[tuple[Any, str, type]]) -> None:
        self._lock = threading.Lock()
        self._open = 0  # windows open, in all threads
        self._installed = False
        self._resets = resets
        self._swaps: list[tuple[Any, str, type]] = []  # the resets of what is patched now
        self._saved: list[tuple[Any, str, type, Any]] = []  # ... and what a window replaced
        self._guarded: list[tuple[type, Any]] = []  # (real class, its own __init__ or None)

    def __enter__(self) -> ResetWindows:
        import vcr.patch

        for owner, name, real in self._resets:
            stub = getattr(owner, name, real)
            if stub is not real:
                self._swaps.append((owner, name, real))
                self._guard(real, stub)
        self._vcr_force_reset = vcr.patch.force_reset
        vcr.patch.force_reset = self  # called as force_reset()
        self._installed = True
        return self

    def _guard(self, real: type, stub: Any) -> None:
        if real in _STUBS or not isinstance(stub, type):
            return  # guarded already (two attributes, one class), or no class to give
        _STUBS[real] = stub
        own = real.__dict__.get("__init__")  # None: inherited, deleted again at the end
        real.__init__ = _guarded_init(real, own or real.__init__)  # type: ignore[misc]
        self._guarded.append((real, own))

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        import vcr.patch

        with self._lock:
            self._installed = False
            self._put_back()  # a window still open: its end will not touch them
        vcr.patch.force_reset = self._vcr_force_reset
        for real, own in self._guarded:
            if own is None:
                del real.__init__  # type: ignore[misc]
            else:
                real.__init__ = own  # type: ignore[misc]
            _STUBS.pop(real, None)

    # -- force_reset() ---------------------------------------------------------------------
    def __call__(self) -> _Window:
        return _Window(self)

    def open(self) -> None:
        _LOCAL.depth += 1
        if _LOCAL.depth > 1:
            return
        with self._lock:
            self._open += 1
            if self._open == 1 and self._installed:
                self._reset()

    def close(self) -> None:
        _LOCAL.depth -= 1
        if _LOCAL.depth:
            return
        with self._lock:
            self._open -= 1
            if self._open == 0 and self._installed:
                self._put_back()

    def _reset(self) -> None:
        """What stands in each place now (ours, or a cassette's of the user's above ours) is
        saved and answers the threads outside the windows; the real class answers those in."""
        for owner, name, real in self._swaps:
            current = getattr(owner, name, real)
            self._saved.append((owner, name, real, current))
            if real in _STUBS and isinstance(current, type) and current is not real:
                _STUBS[real] = current
            setattr(owner, name, real)

    def _put_back(self) -> None:
        for owner, name, real, current in self._saved:
            if getattr(owner, name, None) is real:  # unless someone else has changed it since
                setattr(owner, name, current)
        self._saved.clear()


class _Window:
    """One ``with force_reset():`` block."""

    __slots__ = ("_windows",)

    def __init__(self, windows: ResetWindows) -> None:
        self._windows = windows

    def __enter__(self) -> None:
        self._windows.open()

    def __exit__(self, *exc: object) -> None:
        self._windows.close()
