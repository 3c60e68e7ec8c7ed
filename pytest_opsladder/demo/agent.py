"""The demo content agent: markdown notes in, blog drafts in a local CMS out.

This is the shape of agent the ops ladder grew out of, kept small enough to read as an example:

1. key the draft by source path plus date with the level-2 API (:func:`draft_key`, built on
   :func:`pytest_opsladder.idempotency.upsert_key`), and look the key up: a rerun of the same
   note on the same day will update that draft, a rerun the next day makes a new one (an
   ``upsert`` decision: ``create`` or ``update``);
2. ask the model, through the real ``openai`` SDK, for a title, a summary and tags;
3. resolve the tags against the CMS's existing slugs; unknown tags are skipped with a warning,
   never created (a decision point, and a ``log`` event);
4. upsert the draft under its key (an outbound tool: shadow and replay never execute it).

The date comes from the case input (``date: "2026-01-15"``), else :attr:`ContentAgent.default_date`:
a fixed day, so that recorded cases replay on any day. A production caller passes today's date.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from typing import Any

from pytest_opsladder._clients import shared_client
from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.llm import llm_call
from pytest_opsladder.capture.run import current_run, emit
from pytest_opsladder.capture.tools import decision, tool
from pytest_opsladder.capture.variant import Variant
from pytest_opsladder.demo.cms import CMS
from pytest_opsladder.idempotency.keys import upsert_key

DEMO_DATE = "2026-01-15"  # the day of a case with no ``date:`` input (replays on any day)
DRAFT_WORKFLOW = "demo-content"
DRAFT_NAMESPACE = "blog-draft"

PROPOSE_POST = {
    "type": "function",
    "function": {
        "name": "propose_post",
        "description": "Propose the title, summary and tags of a blog draft.",
        "parameters": {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "summary": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["title", "summary", "tags"],
        },
    },
}


def _client(base_url: str, api_key: str) -> Any:
    """One SDK client per endpoint, shared by agents (see :mod:`pytest_opsladder._clients`)."""
    import openai

    # max_retries=0: a replay miss must fail at once, not after the SDK's backoff.
    def make() -> Any:
        return openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0)

    return shared_client(make, "demo-agent", base_url, api_key)


def draft_key(source: str, day: str) -> str:
    """The upsert key of the draft made from ``source`` on ``day`` (ladder level 2)."""
    return upsert_key(DRAFT_NAMESPACE, {"source": source, "date": day}, workflow=DRAFT_WORKFLOW)


def draft_date(case_input: dict[str, Any], default: str = DEMO_DATE) -> str:
    """The input's ``date`` as ``YYYY-MM-DD`` (a YAML date or a string), else ``default``."""
    value = case_input.get("date") or default
    try:
        return datetime.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(
            f"input date {value!r} is not a date: write it as YYYY-MM-DD (e.g. {DEMO_DATE!r}); "
            "the draft's upsert key is the note's source path plus this date."
        ) from None


def slugify(tag: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", tag.lower()).strip("-")


@dataclass
class ContentAgent:
    """Callable agent: ``agent({"note": "...", "source": "notes/x.md", "date": ...}) -> dict``."""

    variant: Variant
    base_url: str
    cms: CMS
    api_key: str = "demo-key-not-secret"
    default_date: str = DEMO_DATE

    def __post_init__(self) -> None:
        self.client = _client(self.base_url, self.api_key)
        self._tools()

    def _tools(self) -> None:
        cms = self.cms

        @tool(name="find_draft")
        def find_draft(idempotency_key: str) -> dict[str, Any] | None:
            """The draft stored under this upsert key, if any."""
            return cms.draft_by_key(idempotency_key)

        @tool(name="list_tags")
        def list_tags() -> list[str]:
            """Every tag slug the CMS knows."""
            return cms.tag_slugs()

        @tool(name="upsert_draft", outbound=True)
        def upsert_draft(
            idempotency_key: str, post: dict[str, Any], tags: list[str]
        ) -> dict[str, Any]:
            """Create or update the draft under the key (never published by the agent)."""
            return cms.upsert_draft(idempotency_key, post, tags)

        self.find_draft = find_draft
        self.list_tags = list_tags
        self.upsert_draft = upsert_draft

    def __call__(self, case_input: dict[str, Any]) -> dict[str, Any]:
        note = str(case_input["note"])
        source = str(case_input.get("source") or "note")
        day = draft_date(case_input, self.default_date)
        key = draft_key(source, day)
        self.decide_upsert(self.find_draft(key), source, day)
        proposal = self.propose(note)
        tags, skipped = self.resolve_tags(proposal["tags"])
        post = {"source": source, "day": day, "body": note}
        post |= {"title": proposal["title"], "summary": proposal["summary"]}
        written = self.upsert_draft(key, post, tags)
        return {
            "post_id": written["post_id"],
            "draft": written["action"],
            "date": day,
            "title": proposal["title"],
            "summary": proposal["summary"],
            "tags": tags,
            "skipped_tags": skipped,
        }

    def decide_upsert(self, existing: dict[str, Any] | None, source: str, day: str) -> None:
        if existing:
            why = f"draft {existing['post_id']} from {source} on {day} exists: rerun updates it"
        else:
            why = f"no draft from {source} on {day} yet"
        decision("upsert", "update" if existing else "create", ["create", "update"], why)

    def propose(self, note: str) -> dict[str, Any]:
        """One model call; a malformed answer is retried once, then an error."""
        for attempt in (1, 2):
            arguments = self._ask(note)
            try:
                return _parse_proposal(arguments)
            except ValueError as exc:
                if attempt == 2:
                    emit(
                        ev.ERROR,
                        "bad_model_output",
                        {"code": "bad_model_output", "detail": str(exc)},
                    )
                    raise
                emit(ev.RETRY, "propose_post", {"attempt": attempt, "reason": str(exc)})
        raise AssertionError("unreachable")

    def _ask(self, note: str) -> str:
        run = current_run()
        t0 = run.now() if run else None
        request: dict[str, Any] = {
            "model": self.variant.model or "demo-writer",
            "messages": [
                {"role": "system", "content": self.variant.prompt_text or ""},
                {"role": "user", "content": note},
            ],
            "tools": [PROPOSE_POST],
            "tool_choice": {"type": "function", "function": {"name": "propose_post"}},
            "seed": int(self.variant.params.get("seed", 7)),
            "temperature": 0,
        }
        if self.variant.params.get("stream"):
            return self._ask_streaming(request, t0)
        response: Any = self.client.chat.completions.create(**request)
        usage = response.usage.model_dump() if response.usage else {}
        choice = response.choices[0]
        llm_call(
            request["model"], response.model, usage, t_start=t0, finish_reason=choice.finish_reason
        )
        calls = choice.message.tool_calls or []
        return str(calls[0].function.arguments if calls else (choice.message.content or ""))

    def _ask_streaming(self, request: dict[str, Any], t0: float | None) -> str:
        stream: Any = self.client.chat.completions.create(
            **request, stream=True, stream_options={"include_usage": True}
        )
        parts: list[str] = []
        usage: dict[str, Any] = {}
        model = None
        for chunk in stream:
            model = chunk.model
            if chunk.usage:
                usage = chunk.usage.model_dump()
            for choice in chunk.choices:
                for call in choice.delta.tool_calls or []:
                    parts.append((call.function.arguments or "") if call.function else "")
        llm_call(request["model"], model, usage, t_start=t0, finish_reason="tool_calls")
        return "".join(parts)

    def resolve_tags(self, proposed: list[str]) -> tuple[list[str], list[str]]:
        known = set(self.list_tags())
        resolved: list[str] = []
        skipped: list[str] = []
        for tag in proposed:
            slug = slugify(tag)
            (resolved if slug in known else skipped).append(slug)
        for slug in skipped:
            emit(
                ev.LOG,
                "unknown_tag",
                {"level": "warning", "message": f"skipped unknown tag {slug!r}"},
            )
        decision("tags", resolved, proposed, f"{len(skipped)} unknown tag(s) skipped, none created")
        return resolved, skipped


def _parse_proposal(arguments: str) -> dict[str, Any]:
    data = json.loads(arguments)
    if not isinstance(data, dict) or not isinstance(data.get("tags"), list):
        raise ValueError(
            f"propose_post arguments are not {{title, summary, tags}}: {arguments[:80]!r}"
        )
    return {
        "title": str(data.get("title") or ""),
        "summary": str(data.get("summary") or ""),
        "tags": [str(t) for t in data["tags"]],
    }
