"""The shipped demo: a loopback model behind the real openai SDK, and the content agent on a real
SQLite CMS. What a user reading the demo as an example would check."""

from __future__ import annotations

import asyncio
import datetime
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from pytest_opsladder import Case, Mode, RecordMode, RunRecorder, Variant
from pytest_opsladder.demo import PROMPTS, REPLAY_BASE_URL, build_agent, demo_variants, serve_model
from pytest_opsladder.demo.agent import DEMO_DATE, PROPOSE_POST, draft_key
from pytest_opsladder.demo.cms import DEFAULT_TAGS
from pytest_opsladder.idempotency import upsert_key

MANY_TAGS = (
    "# Shipping agents\nWe ship agents weekly.\n"
    "tags: Python, Testing, LLM, Agents, Ops, Kubernetes\n"
)
SHORT = "# Redis tips\nUse redis.\ntags: redis\n"


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    with serve_model() as url:
        yield url


@pytest.fixture
def variants() -> dict[str, Variant]:
    return {v.name: v for v in demo_variants(str(PROMPTS))}


def request(note: str, prompt_file: str = "v1.md", seed: int = 7) -> dict[str, Any]:
    return {
        "model": "demo-writer-1",
        "messages": [
            {"role": "system", "content": (PROMPTS / prompt_file).read_text()},
            {"role": "user", "content": note},
        ],
        "tools": [PROPOSE_POST],
        "tool_choice": {"type": "function", "function": {"name": "propose_post"}},
        "seed": seed,
        "temperature": 0,
    }


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="demo", max_retries=0)


def streamed_arguments(chunks: list[Any]) -> tuple[str, dict[str, Any]]:
    parts = [
        call.function.arguments or ""
        for chunk in chunks
        for choice in chunk.choices
        for call in choice.delta.tool_calls or []
        if call.function
    ]
    usage = next(c.usage for c in chunks if c.usage)
    return "".join(parts), usage.model_dump()


def test_model_answers_the_openai_sdk_with_a_tool_call(model_url: str) -> None:
    response = client(model_url).chat.completions.create(**request(MANY_TAGS))
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "propose_post"
    post = json.loads(call.function.arguments)
    assert post["title"] == "Shipping agents"
    assert post["tags"] == ["Python", "Testing", "LLM", "Agents", "Ops"]
    assert response.model == "demo-writer-1-2026-01-15"
    assert response.usage is not None
    assert response.usage.total_tokens > 0


def test_streaming_sync_and_async_give_the_same_answer(model_url: str) -> None:
    body = request(MANY_TAGS)
    plain = client(model_url).chat.completions.create(**body)
    plain_args = (plain.choices[0].message.tool_calls or [])[0].function.arguments
    chunks = list(
        client(model_url).chat.completions.create(
            **body, stream=True, stream_options={"include_usage": True}
        )
    )
    assert len(chunks) > 3  # really streamed in pieces
    args, usage = streamed_arguments(chunks)
    assert args == plain_args
    assert plain.usage is not None
    assert usage == plain.usage.model_dump()

    async def both() -> tuple[str, str]:
        aclient = openai.AsyncOpenAI(base_url=model_url, api_key="demo", max_retries=0)
        try:
            done = await aclient.chat.completions.create(**body)
            stream = await aclient.chat.completions.create(
                **body, stream=True, stream_options={"include_usage": True}
            )
            achunks = [chunk async for chunk in stream]
        finally:
            await aclient.close()
        return (done.choices[0].message.tool_calls or [])[0].function.arguments, streamed_arguments(
            achunks
        )[0]

    assert asyncio.run(both()) == (plain_args, plain_args)


def test_deterministic_for_a_seed(model_url: str) -> None:
    note = "Python and rust and redis and git and ci and ops."  # equal counts: the seed breaks ties
    c = client(model_url)

    def tags(seed: int) -> list[str]:
        response = c.chat.completions.create(**request(note, seed=seed))
        return json.loads((response.choices[0].message.tool_calls or [])[0].function.arguments)[
            "tags"
        ]

    first = c.chat.completions.create(**request(note, seed=3))
    again = c.chat.completions.create(**request(note, seed=3))
    assert first.model_dump() == again.model_dump()  # same id, created, content
    assert tags(3) == tags(3)
    assert len({tuple(tags(seed)) for seed in range(12)}) > 1  # the seed matters


def test_the_two_variants_differ_on_many_tags_and_agree_on_a_short_note(
    model_url: str, variants: dict[str, Variant], tmp_path: Path
) -> None:
    def run(variant: str, note: str) -> dict[str, Any]:
        agent = build_agent(variants[variant], model_url, tmp_path / f"{variant}-{len(note)}.db")
        return agent({"note": note, "source": "notes/x.md"})

    prod, nxt = run("prod", MANY_TAGS), run("next", MANY_TAGS)
    assert prod["tags"] == ["python", "testing", "llm", "agents", "ops"]
    assert nxt["tags"] == ["llm", "ops", "python"]
    assert run("prod", SHORT) == run("next", SHORT)


def _cms_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


def test_unknown_tags_are_skipped_with_a_warning_and_never_created(
    model_url: str, variants: dict[str, Variant], tmp_path: Path
) -> None:
    db = tmp_path / "cms.sqlite3"
    agent = build_agent(variants["prod"], model_url, db)
    note = "# Quantum notes\nQubits are hard.\ntags: python, quantum-computing, Rust, blockchain\n"
    with RunRecorder(Case("unknown-tags"), variants["prod"], None, mode=Mode.RECORD) as run:
        run.output = agent({"note": note, "source": "notes/q.md"})
    assert run.output["tags"] == ["python", "rust"]
    assert run.output["skipped_tags"] == ["quantum-computing", "blockchain"]
    warnings = [e.data for e in run.events_of("log") if e.name == "unknown_tag"]
    assert [w["level"] for w in warnings] == ["warning", "warning"]
    assert "'quantum-computing'" in warnings[0]["message"]
    (tags_decision,) = [e for e in run.events_of("decision") if e.name == "tags"]
    assert tags_decision.data["chosen"] == ["python", "rust"]
    assert sorted(r[0] for r in _cms_rows(db, "select slug from tags")) == sorted(DEFAULT_TAGS)
    assert _cms_rows(db, "select slug from post_tags order by slug") == [("python",), ("rust",)]
    assert _cms_rows(db, "select title, status from posts") == [("Quantum notes", "draft")]


def test_a_rerun_the_same_day_updates_the_same_draft_through_its_upsert_key(
    model_url: str, variants: dict[str, Variant], tmp_path: Path
) -> None:
    db = tmp_path / "cms.sqlite3"
    agent = build_agent(variants["prod"], model_url, db)
    day = {"source": "notes/redis.md", "date": "2026-02-03"}
    first = agent({"note": SHORT, **day})
    edited = SHORT.replace("Use redis.", "Use redis with a TTL.")
    with RunRecorder(Case("rerun"), variants["prod"], None, mode=Mode.RECORD) as run:
        run.output = agent({"note": edited, **day})
    assert (first["draft"], run.output["draft"]) == ("created", "updated")
    assert run.output["post_id"] == first["post_id"]
    (upsert,) = [e.data for e in run.events_of("decision") if e.name == "upsert"]
    assert (upsert["chosen"], upsert["alternatives"]) == ("update", ["create", "update"])
    tools = [e.name for e in run.events_of("tool_call")]
    assert tools == ["find_draft", "list_tags", "upsert_draft"]
    (key,) = {
        e.data["args"]["idempotency_key"] for e in run.events_of("tool_call") if e.data["args"]
    }
    assert key == draft_key("notes/redis.md", "2026-02-03")
    assert key == upsert_key(
        "blog-draft", {"source": "notes/redis.md", "date": "2026-02-03"}, workflow="demo-content"
    )
    assert _cms_rows(db, "select id, body from posts") == [(first["post_id"], edited)]


def test_a_rerun_the_next_day_makes_a_new_draft_and_leaves_yesterdays(
    model_url: str, variants: dict[str, Variant], tmp_path: Path
) -> None:
    db = tmp_path / "cms.sqlite3"
    agent = build_agent(variants["prod"], model_url, db)
    monday = agent({"note": SHORT, "source": "notes/redis.md", "date": "2026-02-02"})
    tuesday = agent({"note": SHORT, "source": "notes/redis.md", "date": datetime.date(2026, 2, 3)})
    assert (monday["draft"], tuesday["draft"]) == ("created", "created")
    assert tuesday["post_id"] != monday["post_id"]
    assert tuesday["date"] == "2026-02-03"
    assert _cms_rows(db, "select day from posts order by id") == [("2026-02-02",), ("2026-02-03",)]


def test_a_case_without_a_date_uses_the_fixed_demo_day_and_a_bad_date_says_the_format(
    model_url: str, variants: dict[str, Variant], tmp_path: Path
) -> None:
    agent = build_agent(variants["prod"], model_url, tmp_path / "cms.sqlite3")
    assert agent({"note": SHORT, "source": "notes/a.md"})["date"] == DEMO_DATE
    with pytest.raises(ValueError, match=r"'15/01/2026' is not a date: write it as YYYY-MM-DD"):
        agent({"note": SHORT, "source": "notes/a.md", "date": "15/01/2026"})


def test_a_recorded_demo_run_replays_with_no_model_server(
    model_url: str, variants: dict[str, Variant], tmp_path: Path
) -> None:
    cassette = tmp_path / "cassettes" / "many" / "prod.json"
    live = build_agent(variants["prod"], model_url, tmp_path / "live.db")
    with RunRecorder(
        Case("many"), variants["prod"], cassette, mode=Mode.RECORD, record_mode=RecordMode.ALL
    ) as run:
        run.output = live({"note": MANY_TAGS, "source": "notes/m.md"})
    offline = build_agent(variants["prod"], REPLAY_BASE_URL, tmp_path / "offline.db")
    with RunRecorder(Case("many"), variants["prod"], cassette, mode=Mode.REPLAY) as replayed:
        replayed.output = offline({"note": MANY_TAGS, "source": "notes/m.md"})
    assert replayed.output == run.output
    assert [e.kind for e in replayed.events] == [e.kind for e in run.events]
    # upsert_draft is outbound: replay returned the recorded id and wrote nothing
    assert _cms_rows(tmp_path / "offline.db", "select count(*) from posts") == [(0,)]
