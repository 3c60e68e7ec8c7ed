"""Cyclic garbage collection paused around work that allocates many long-lived containers.

In a process holding pytest's session (every item, every imported module), building many
objects sets off full collections that walk the whole heap again each time, though what is
built holds no cycles. Used where that was measured: collecting a large nightmare set, and
reading a shadow worker's runs (3.8 MB for 100 cases of bench_shadow's shape: 100 ms with the
collector on, 18 ms paused).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused() -> Iterator[None]:
    """The collector off inside; on again after, unless a caller had already turned it off
    (that pause is the caller's to end)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
