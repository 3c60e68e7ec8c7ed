"""The shipped demo agent: a content agent whose model is served on loopback (see README).

``demo_variants()`` are the two variants the demo compares; ``build_agent(variant, ...)`` makes
the agent; ``serve_model()`` serves the model. This repository's conftest.py wires them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_opsladder.capture.variant import Variant
from pytest_opsladder.demo.agent import ContentAgent, draft_date, draft_key
from pytest_opsladder.demo.cms import CMS
from pytest_opsladder.demo.model_server import serve_model

PROMPTS = Path(__file__).parent / "prompts"
# No server listens here: in replay, every model call must come from the cassette.
REPLAY_BASE_URL = "http://127.0.0.1:9/v1"


def demo_variants(prompt_root: str = "pytest_opsladder/demo/prompts") -> list[Variant]:
    """prod: prompt v1; next: prompt v2 (shorter titles, fewer tags), streamed."""
    return [
        Variant("prod", model="demo-writer-1", prompt=f"{prompt_root}/v1.md", params={"seed": 7}),
        Variant(
            "next",
            model="demo-writer-1",
            prompt=f"{prompt_root}/v2.md",
            params={"seed": 7, "stream": True},
        ),
    ]


def build_agent(variant: Variant, base_url: str, cms_path: Path) -> ContentAgent:
    """A content agent with a fresh CMS seeded with the default tags at ``cms_path``."""
    cms = CMS(cms_path)
    cms.seed_tags()
    return ContentAgent(variant=variant, base_url=base_url, cms=cms)


def seed_existing_posts(agent: ContentAgent, case_input: Any) -> None:
    """Put the case's ``existing_posts`` (the drafts earlier runs left) into the agent's CMS.

    Each is ``{source, title, date?}``; its date defaults to the case's own date, i.e. a run
    of the same note earlier the same day.
    """
    case_input = case_input if isinstance(case_input, dict) else {}
    day = draft_date(case_input, agent.default_date)
    for post in case_input.get("existing_posts", []):
        post_day = draft_date(post, day)
        key = draft_key(str(post["source"]), post_day)
        fields = {"source": str(post["source"]), "day": post_day, "title": str(post["title"])}
        agent.cms.upsert_draft(key, {**fields, "summary": "", "body": ""}, [])


__all__ = [
    "CMS",
    "REPLAY_BASE_URL",
    "ContentAgent",
    "build_agent",
    "demo_variants",
    "draft_key",
    "seed_existing_posts",
    "serve_model",
]
