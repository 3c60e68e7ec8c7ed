"""The demo's local CMS: a SQLite database of tags and draft posts."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

DEFAULT_TAGS = (
    "python", "testing", "llm", "agents", "ops", "observability", "databases", "sqlite",
    "security", "devops", "kubernetes", "rust", "career", "writing", "performance", "ci",
    "git", "postgres", "redis", "cloud", "evaluation", "pytest",
)  # fmt: skip

_SCHEMA = """
create table if not exists tags (slug text primary key, name text not null);
create table if not exists posts (
  id integer primary key, source text unique not null, title text not null,
  summary text not null, body text not null, status text not null default 'draft'
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

    def post_by_source(self, source: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "select id, title, status from posts where source = ?", (source,)
        ).fetchone()
        return {"post_id": row[0], "title": row[1], "status": row[2]} if row else None

    def create_draft(
        self, source: str, title: str, summary: str, body: str, tags: list[str]
    ) -> int:
        with self.db:
            cur = self.db.execute(
                "insert into posts(source, title, summary, body) values (?, ?, ?, ?)",
                (source, title, summary, body),
            )
            post_id = int(cur.lastrowid or 0)
            self.db.executemany(
                "insert into post_tags(post_id, slug) values (?, ?)", [(post_id, t) for t in tags]
            )
        return post_id

    def close(self) -> None:
        self.db.close()
