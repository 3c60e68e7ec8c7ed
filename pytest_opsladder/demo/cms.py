"""The demo's local CMS: a SQLite database of tags and draft posts.

Each draft is stored under its upsert key (ladder level 2: source path plus date, see
:func:`pytest_opsladder.demo.agent.draft_key`), so writing the same key twice updates one row.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from pytest_opsladder.idempotency.writes import sqlite_upsert

DEFAULT_TAGS = (
    "python", "testing", "llm", "agents", "ops", "observability", "databases", "sqlite",
    "security", "devops", "kubernetes", "rust", "career", "writing", "performance", "ci",
    "git", "postgres", "redis", "cloud", "evaluation", "pytest",
)  # fmt: skip

_SCHEMA = """
create table if not exists tags (slug text primary key, name text not null);
create table if not exists posts (
  id integer primary key, upsert_key text unique not null, source text not null,
  day text not null, title text not null, summary text not null, body text not null,
  status text not null default 'draft'
);
create table if not exists post_tags (post_id integer references posts(id), slug text
  references tags(slug), primary key (post_id, slug));
"""


class CMS:
    """Posts are created as drafts; tags must already exist (the agent never creates them)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False)
        self.db.executescript(_SCHEMA)

    def seed_tags(self, slugs: tuple[str, ...] = DEFAULT_TAGS) -> None:
        with self.db:
            self.db.executemany(
                "insert or ignore into tags(slug, name) values (?, ?)",
                [(s, s.title()) for s in slugs],
            )

    def tag_slugs(self) -> list[str]:
        return [row[0] for row in self.db.execute("select slug from tags order by slug")]

    def draft_by_key(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "select id, title, status from posts where upsert_key = ?", (key,)
        ).fetchone()
        return {"post_id": row[0], "title": row[1], "status": row[2]} if row else None

    def upsert_draft(self, key: str, post: dict[str, Any], tags: list[str]) -> dict[str, Any]:
        """Create the draft stored under ``key``, or update it: ``{post_id, action}``.

        ``post`` holds source, day, title, summary and body. The draft's tags are replaced.
        """
        with self.db:
            existed = self.draft_by_key(key) is not None
            sqlite_upsert(self.db, "posts", "upsert_key", key, {**post, "status": "draft"})
            post_id = int(
                self.db.execute("select id from posts where upsert_key = ?", (key,)).fetchone()[0]
            )
            self.db.execute("delete from post_tags where post_id = ?", (post_id,))
            self.db.executemany(
                "insert into post_tags(post_id, slug) values (?, ?)", [(post_id, t) for t in tags]
            )
        return {"post_id": post_id, "action": "updated" if existed else "created"}

    def close(self) -> None:
        self.db.close()
