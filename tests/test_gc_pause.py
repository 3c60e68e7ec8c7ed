"""The collector pause used where many long-lived objects are built (a large nightmare set, a
shadow worker's runs read back)."""

from __future__ import annotations

import gc
import json

import pytest

from pytest_opsladder import _json
from pytest_opsladder._gc import collection_paused


def test_collection_is_paused_while_reading_and_restored_after_even_on_an_error() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
        assert _json.loads_exact(b'{"runs": {"a": [1, 2]}}') == {"runs": {"a": [1, 2]}}
    assert gc.isenabled()
    with pytest.raises(json.JSONDecodeError), collection_paused():
        _json.loads_exact(b"{not json")
    assert gc.isenabled()


def test_collection_paused_by_a_caller_stays_paused() -> None:
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the caller's pause is the caller's to end
    finally:
        gc.enable()
