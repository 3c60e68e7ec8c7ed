"""Cassettes that diff well: structured JSON bodies, one value per line, byte-exact bodies."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_opsladder.cassette import layout

REPO = Path(__file__).resolve().parents[2]
DEMO_CASES = ("db-migrations-agents", "keywords-many", "til-redis-ttl", "title-shadow-mode")
DEMO_CASES += ("unknown-tag-typo", "summary-trash", "empty-body-note", "dedupe-existing-post")


def _changed_lines(old: str, new: str) -> int:
    ops = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops.get_opcodes() if tag != "equal")


def test_a_no_op_rerecord_of_the_demo_changes_at_most_a_quarter_of_the_lines(
    tmp_path: Path,
) -> None:
    (tmp_path / "nightmare_set" / "cassettes").mkdir(parents=True)
    for case in DEMO_CASES:
        shutil.copy(REPO / "nightmare_set" / f"{case}.yaml", tmp_path / "nightmare_set")
        shutil.copytree(
            REPO / "nightmare_set" / "cassettes" / case,
            tmp_path / "nightmare_set" / "cassettes" / case,
        )
    conftest = (REPO / "conftest.py").read_text("utf-8")
    prompts = str(REPO / "pytest_opsladder" / "demo" / "prompts")
    (tmp_path / "conftest.py").write_text(
        conftest.replace("return demo_variants()", f"return demo_variants({prompts!r})"), "utf-8"
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path)  # the demo's gate and baseline
    cmd = [sys.executable, "-m", "pytest", "nightmare_set", "--opsladder-mode=record"]
    cmd += ["--opsladder-record-mode=rewrite", "-p", "no:cacheprovider", "-q"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"{len(DEMO_CASES)} recorded" in done.stdout
    total = changed = 0
    for case in DEMO_CASES:
        old = (REPO / "nightmare_set" / "cassettes" / case / "prod.json").read_text("utf-8")
        new = (tmp_path / "nightmare_set" / "cassettes" / case / "prod.json").read_text("utf-8")
        assert old != new  # it was recorded again: new run id, timings, port
        total += len(old.splitlines())
        changed += _changed_lines(old, new)
    print(f"no-op re-record: {changed} of {total} lines changed ({changed / total:.1%})")
    assert changed / total <= 0.25, f"{changed} of {total} lines changed"


BODIES = [
    '{"model":"m","messages":[{"role":"user","content":"caf\\u00e9, d\'accord"}],"n":1}',
    '{"model": "m", "choices": [{"text": "café"}], "created": 1767225600, "z": 1.5}',
    '{\n  "id": "resp_1",\n  "output": [\n    {\n      "type": "message"\n    }\n  ]\n}',
    '[1,2,{"b":1,"a":2}]',
]


@pytest.mark.parametrize("text", BODIES)
def test_json_bodies_are_stored_structured_and_come_back_byte_for_byte(text: str) -> None:
    stored = layout.structured_body({"text": text})
    assert "json" in stored
    assert layout.text_body(stored) == {"text": text}
    written = layout.dumps_json({"run": {"http": [{"response": {"body": stored}}]}})
    loaded = layout.accept_bodies(json.loads(written))
    assert loaded["run"]["http"][0]["response"]["body"] == {"text": text}


@pytest.mark.parametrize(
    "body",
    [
        {"text": '{"a": 1.50}'},  # a number json would write back as 1.5
        {"text": '{"a":1,"a":2}'},  # duplicate keys
        {"text": '{ "a" : 1 }'},  # a style no encoder produces
        {"text": "not json {"},
        {"text": '"a bare string"'},
        {"base64": "AAEC"},
        {"text": ""},
    ],
)
def test_bodies_that_would_not_round_trip_stay_as_they_were(body: dict[str, str]) -> None:
    assert layout.structured_body(body) == body


def test_the_layout_is_one_value_per_line_with_sorted_keys_and_sender_order_in_bodies() -> None:
    body = layout.structured_body({"text": '{"zeta":1,"alpha":{"y":2,"x":[1,2]}}'})
    text = layout.dumps_json({"b": 1, "a": {"d": [1, "x" * 80], "c": None}, "body": body})
    lines = text.splitlines()
    assert lines[1] == ' "a": {'
    assert ' "b": 1,' in lines
    assert text.index('"zeta"') < text.index('"alpha"')  # the sender's order, not sorted
    assert '    "x": [1, 2]' in lines  # short and flat: one line
    assert all(len(line) < 100 for line in lines)
    assert json.loads(text)["body"]["json"] == {"zeta": 1, "alpha": {"y": 2, "x": [1, 2]}}


def _turns(values: list[object]) -> dict[str, object]:
    """A run's interactions as a multi-turn agent sends them: each request resends the
    conversation so far, whose messages hold the values given (some alike in JSON, unlike in
    Python: 1, 1.0, True, NaN, None)."""
    messages: list[object] = []
    http = []
    for i, value in enumerate(values):
        messages.append({"role": "user", "content": f"turn {i}", "meta": {"v": value, "n": [i]}})
        text = json.dumps({"messages": messages, "tools": [{"name": "t", "schema": {"v": value}}]})
        body = layout.structured_body({"text": text})
        http.append({"request": {"body": body}, "nested": {"deeper": {"body": body}}})
    return {"run": {"http": http}}


@pytest.mark.parametrize(
    "values",
    [
        [1, 1.0, True, None, float("nan"), "1", [1], {"x": 1}],
        [0.1, 1e-05, 10**20, False, "é\u2028\x00", -0.0, float("inf"), 0],
    ],
)
def test_repeated_body_parts_are_written_as_the_first_time(
    values: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    envelope = _turns(values)
    first = layout.dumps_json(envelope)
    again = layout.dumps_json(envelope)  # every part of every body now comes from the memo
    monkeypatch.setattr(layout, "_write_item", layout._write)  # the writer without the memo
    assert first == again == layout.dumps_json(envelope)
    for item, written in zip(
        envelope["run"]["http"], json.loads(first)["run"]["http"], strict=True
    ):
        expected = json.loads(layout.text_body(item["request"]["body"])["text"])
        assert written["nested"]["deeper"]["body"]["json"] == expected


def test_without_json_s_c_accelerator_the_text_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    envelope = _turns([1, 1.5, None, True, float("nan"), "é\n", [2], {"x": "y" * 70}])
    expected = layout.dumps_json(envelope)
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    shapes = {"_SORTED_TEXT": (True, (", ", ": ")), "_ORDERED_TEXT": (False, (", ", ": "))}
    shapes["_COMPACT"] = (False, (",", ":"))
    for name, (sort, separators) in shapes.items():
        encode = layout._one_shot(sort, separators)
        assert isinstance(getattr(encode, "__self__", None), json.JSONEncoder)  # its method
        monkeypatch.setattr(layout, name, encode)
    monkeypatch.setattr(layout, "_BODY_TEXT", {})
    assert layout.dumps_json(envelope) == expected
