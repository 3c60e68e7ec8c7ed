"""Ladder level 0: tool arguments that JSON cannot hold: a clear error, or the documented
fallback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import pydantic
import pytest

from pytest_opsladder import Case, Mode, RecordMode, RunRecorder, Variant, register_encoder, tool
from pytest_opsladder.capture import jsonable
from pytest_opsladder.exceptions import ToolArgumentError


@dataclasses.dataclass
class Order:
    id: int
    placed: dt.date


class Color(enum.Enum):
    RED = "red"


class Customer(pydantic.BaseModel):
    name: str
    since: dt.datetime


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque>"


@tool(name="js_store")
def store(payload: Any, note: str = "") -> str:
    return "ok"


@tool(name="js_give")
def give(x: Any) -> Any:
    return x


@tool(name="js_opaque")
def _opaque_result() -> Any:
    return Opaque()


def recording(tmp_path: Path) -> RunRecorder:
    return RunRecorder(
        Case("js"), Variant("v"), tmp_path / "c.json", mode=Mode.RECORD, record_mode=RecordMode.ALL
    )


def test_unserialisable_argument_names_tool_and_argument_path(tmp_path: Path) -> None:
    executed: list[int] = []

    @tool(name="js_guarded")
    def guarded(payload: Any) -> None:
        executed.append(1)

    with recording(tmp_path) as run, pytest.raises(ToolArgumentError) as info:
        guarded({"items": [1, {"obj": Opaque()}]})
    err = info.value
    assert err.tool == "js_guarded"
    assert err.path == "$.payload.items[1].obj"
    assert "'js_guarded'" in str(err)
    assert "$.payload.items[1].obj" in str(err)
    assert "<Opaque>" in str(err)
    assert "register_encoder" in str(err)
    assert executed == []  # refused before the tool ran
    assert run.events_of("tool_call") == []


def test_unserialisable_result_is_recorded_as_an_error_naming_the_tool(tmp_path: Path) -> None:
    with recording(tmp_path) as run, pytest.raises(ToolArgumentError) as info:
        _opaque_result()
    assert info.value.tool == "js_opaque"
    assert info.value.path == "result"
    (event,) = run.events_of("tool_call")
    assert event.data["error"]["type"] == "ToolArgumentError"


@tool(name="js_opaque")
def _opaque_result() -> Any:
    return Opaque()


def test_non_string_mapping_key_is_named(tmp_path: Path) -> None:
    with recording(tmp_path), pytest.raises(ToolArgumentError, match=r"\$\.payload has a key"):
        store({(1, 2): "tuple key"})


def test_documented_fallbacks_are_stored_and_replayed_as_json(tmp_path: Path) -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    payload = {
        "order": Order(7, dt.date(2026, 1, 2)),
        "customer": Customer(name="ann", since=when),
        "when": when,
        "path": PurePosixPath("/srv/notes/a.md"),
        "blob": b"\x00\xffhi",
        "color": Color.RED,
        "id": uuid.UUID(int=1),
        "price": Decimal("9.50"),
        "tags": {"b", "a"},
        "pair": (1, 2),
        "nan": float("nan"),
        1: "int key",
    }
    expected = {
        "order": {"id": 7, "placed": "2026-01-02"},
        "customer": {"name": "ann", "since": "2026-01-02T03:04:05Z"},
        "when": "2026-01-02T03:04:05+00:00",
        "path": "/srv/notes/a.md",
        "blob": {"__bytes_b64__": "AP9oaQ=="},
        "color": "red",
        "id": "00000000-0000-0000-0000-000000000001",
        "price": "9.50",
        "tags": ["a", "b"],
        "pair": [1, 2],
        "nan": {"__float__": "nan"},
        "1": "int key",
    }
    with recording(tmp_path) as run:
        assert give(payload) is payload  # the live caller gets the real object back
    (event,) = run.events_of("tool_call")
    assert event.data["args"] == {"x": expected}
    assert event.data["result"] == expected
    with RunRecorder(Case("js"), Variant("v"), tmp_path / "c.json", mode=Mode.REPLAY):
        assert give(payload) == expected  # replay returns the JSON form


def test_registered_encoder_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonable, "_ENCODERS", dict(jsonable._ENCODERS))
    register_encoder(Opaque, lambda value: {"opaque": True})
    with recording(tmp_path) as run:
        store(Opaque())
    assert run.events_of("tool_call")[0].data["args"]["payload"] == {"opaque": True}


def test_path_objects_are_strings(tmp_path: Path) -> None:
    assert jsonable.to_jsonable(Path("/a/b")) == "/a/b"
