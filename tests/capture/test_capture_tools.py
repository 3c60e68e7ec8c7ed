"""Ladder level 0: @tool and decision() record, replay and miss as a user of the runtime sees it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder import Case, Mode, RecordMode, RunRecorder, RunStatus, Variant, decision, tool
from pytest_opsladder.exceptions import RecordedToolError, ToolReplayMissError


class CustomError(Exception):
    """A user-defined exception: replay cannot re-create it without importing user code."""


class SideEffects:
    """Tools whose bodies append to a file, so a test can see whether they executed."""

    def __init__(self, log: Path) -> None:
        self.log = log

        @tool(name="lookup")
        def lookup(customer: str, limit: int = 10) -> dict[str, Any]:
            self._note("lookup", customer)
            return {"customer": customer, "limit": limit, "orders": [1, 2]}

        @tool(name="fails_builtin")
        def fails_builtin(x: int) -> int:
            self._note("fails_builtin", x)
            raise KeyError(f"no order {x}")

        @tool(name="fails_custom")
        def fails_custom(x: int) -> int:
            self._note("fails_custom", x)
            raise CustomError(f"custom failure {x}")

        @tool(name="alookup")
        async def alookup(customer: str, limit: int = 5) -> dict[str, Any]:
            self._note("alookup", customer)
            await asyncio.sleep(0)
            return {"customer": customer, "limit": limit}

        @tool(name="counter")
        def counter(key: str) -> int:
            self._note("counter", key)
            return len(self.executions())

        self.lookup, self.fails_builtin, self.fails_custom = lookup, fails_builtin, fails_custom
        self.alookup, self.counter = alookup, counter

    def _note(self, name: str, arg: Any) -> None:
        with self.log.open("a") as fh:
            fh.write(json.dumps([name, arg]) + "\n")

    def executions(self) -> list[list[Any]]:
        return (
            [json.loads(ln) for ln in self.log.read_text().splitlines()]
            if self.log.exists()
            else []
        )


@pytest.fixture
def fx(tmp_path: Path) -> SideEffects:
    return SideEffects(tmp_path / "executions.log")


def recorder(path: Path, mode: Mode, record_mode: RecordMode) -> RunRecorder:
    return RunRecorder(Case("c1", {"q": 1}), Variant("v"), path, mode=mode, record_mode=record_mode)


def record(path: Path) -> RunRecorder:
    return recorder(path, Mode.RECORD, RecordMode.ONCE)


def replay(path: Path) -> RunRecorder:
    return recorder(path, Mode.REPLAY, RecordMode.NONE)


def test_outside_a_run_a_tool_is_just_the_function(fx: SideEffects) -> None:
    assert fx.lookup("ann") == {"customer": "ann", "limit": 10, "orders": [1, 2]}
    assert asyncio.run(fx.alookup("bob")) == {"customer": "bob", "limit": 5}
    assert fx.executions() == [["lookup", "ann"], ["alookup", "bob"]]
    assert fx.lookup.__name__ == "lookup"


def test_record_captures_name_call_id_args_with_defaults_result_and_times(
    fx: SideEffects, tmp_path: Path
) -> None:
    rec = record(tmp_path / "c.json")
    with rec as run:
        fx.lookup("ann")
        fx.lookup(customer="bob", limit=3)
    calls = run.events_of("tool_call")
    assert [c.name for c in calls] == ["lookup", "lookup"]
    assert calls[0].data == {
        "args": {"customer": "ann", "limit": 10},
        "result": {"customer": "ann", "limit": 10, "orders": [1, 2]},
    }
    assert calls[1].data["args"] == {"customer": "bob", "limit": 3}
    assert calls[0].call_id != calls[1].call_id
    assert all(c.call_id for c in calls)
    assert 0 <= calls[0].t_start <= calls[0].t_end <= calls[1].t_start <= calls[1].t_end
    assert run.status is RunStatus.COMPLETE
    assert (tmp_path / "c.json").is_file()


def test_record_captures_exceptions_and_reraises_them(fx: SideEffects, tmp_path: Path) -> None:
    with record(tmp_path / "c.json") as run, pytest.raises(KeyError):
        fx.fails_builtin(7)
    (call,) = run.events_of("tool_call")
    assert call.data["args"] == {"x": 7}
    assert call.data["error"] == {
        "type": "KeyError",
        "module": "builtins",
        "message": "'no order 7'",
        "args": ["no order 7"],  # replay raises KeyError('no order 7') again, same arguments
    }
    assert "result" not in call.data


def test_async_tool_records_like_sync(fx: SideEffects, tmp_path: Path) -> None:
    async def agent() -> Any:
        return await fx.alookup("ann")

    with record(tmp_path / "c.json") as run:
        assert asyncio.run(agent()) == {"customer": "ann", "limit": 5}
    (call,) = run.events_of("tool_call")
    assert call.name == "alookup"
    assert call.data == {
        "args": {"customer": "ann", "limit": 5},
        "result": {"customer": "ann", "limit": 5},
    }


def test_replay_returns_recorded_results_without_executing(fx: SideEffects, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    with record(path) as run:
        run.output = fx.lookup("ann")
        with pytest.raises(KeyError):
            fx.fails_builtin(1)
        with pytest.raises(CustomError):
            fx.fails_custom(2)
        asyncio.run(fx.alookup("bob"))
    executed = len(fx.executions())
    assert executed == 4
    with replay(path) as run:
        assert fx.lookup("ann") == {"customer": "ann", "limit": 10, "orders": [1, 2]}
        with pytest.raises(KeyError, match="no order 1"):
            fx.fails_builtin(1)
        with pytest.raises(RecordedToolError) as info:
            fx.fails_custom(2)
        assert asyncio.run(fx.alookup("bob")) == {"customer": "bob", "limit": 5}
    assert len(fx.executions()) == executed  # nothing ran again
    assert info.value.type_name == "CustomError"
    assert info.value.module == __name__
    assert "custom failure 2" in str(info.value)
    assert [e.name for e in run.events_of("tool_call")] == [
        "lookup",
        "fails_builtin",
        "fails_custom",
        "alookup",
    ]


def test_identical_calls_replay_in_recorded_order(fx: SideEffects, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    with record(path):
        first = [fx.counter("k"), fx.counter("k"), fx.counter("k")]
    assert first == [1, 2, 3]
    with replay(path):
        assert [fx.counter("k"), fx.counter("k"), fx.counter("k")] == [1, 2, 3]
        with pytest.raises(ToolReplayMissError):
            fx.counter("k")  # a fourth identical call was never recorded
    assert len(fx.executions()) == 3


def test_default_and_explicit_arguments_match_each_other(fx: SideEffects, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    with record(path):
        fx.lookup("ann")
    with replay(path):
        assert fx.lookup("ann", limit=10)["limit"] == 10
    assert len(fx.executions()) == 1


def test_unrecorded_call_names_closest_calls_and_differing_paths(
    fx: SideEffects, tmp_path: Path
) -> None:
    path = tmp_path / "c.json"
    with record(path):
        fx.lookup("ann")
        fx.lookup("bob", limit=3)
        fx.counter("z")
    with replay(path), pytest.raises(ToolReplayMissError) as info:
        fx.lookup("bob", limit=4)
    err = info.value
    assert err.tool == "lookup"
    assert err.call_args == {"customer": "bob", "limit": 4}
    assert err.closest[0]["args"] == {"customer": "bob", "limit": 3}
    assert err.closest[0]["differs_at"] == ["$.limit"]
    assert sorted(err.closest[1]["differs_at"]) == ["$.customer", "$.limit"]
    text = str(err)
    assert "Closest recorded calls" in text
    assert "$.limit: recorded 3, called with 4" in text
    assert "--opsladder-mode=record" in text
    assert len(fx.executions()) == 3


def test_decision_points_are_recorded_and_replayed(tmp_path: Path) -> None:
    assert decision("route", "fast", ["fast", "slow"], "no run: just returns") == "fast"
    with record(tmp_path / "c.json") as run:
        assert decision("route", "slow", ("fast", "slow"), "big input") == "slow"
    (event,) = run.events_of("decision")
    assert event.name == "route"
    assert event.data == {"chosen": "slow", "alternatives": ["fast", "slow"], "reason": "big input"}
    with replay(tmp_path / "c.json") as replayed:
        decision("route", "slow", ("fast", "slow"), "big input")
    assert replayed.events_of("decision")[0].data == event.data


def test_new_episodes_replays_old_calls_and_records_new_ones(
    fx: SideEffects, tmp_path: Path
) -> None:
    path = tmp_path / "c.json"
    with record(path):
        fx.lookup("ann")
    with recorder(path, Mode.RECORD, RecordMode.NEW_EPISODES):
        fx.lookup("ann")
        fx.lookup("new")
    assert fx.executions() == [["lookup", "ann"], ["lookup", "new"]]
    with replay(path):
        fx.lookup("ann")
        fx.lookup("new")
    assert len(fx.executions()) == 2


def test_async_tool_errors_and_misses_replay_like_sync(tmp_path: Path) -> None:
    ran: list[int] = []

    @tool(name="afails")
    async def afails(x: int) -> int:
        ran.append(x)
        raise ValueError(f"bad {x}")

    path = tmp_path / "c.json"
    with record(path), pytest.raises(ValueError, match="bad 1"):
        asyncio.run(afails(1))
    with replay(path):
        with pytest.raises(ValueError, match="bad 1"):
            asyncio.run(afails(1))
        with pytest.raises(ToolReplayMissError) as info:
            asyncio.run(afails(2))
    assert ran == [1]
    assert info.value.closest[0]["differs_at"] == ["$.x"]
