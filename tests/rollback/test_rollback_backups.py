"""Ladder level 5: snapshot before a change, restore the last known good in one call."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_opsladder.capture.run import Run, activate
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cli import main
from pytest_opsladder.rollback.backup import ArtifactKind, Backups
from pytest_opsladder.rollback.errors import BackupError


def test_a_file_is_restored_to_its_last_known_good(tmp_path: Path) -> None:
    backups = Backups(tmp_path / "bk")
    f = tmp_path / "config.yaml"
    f.write_bytes(b"limit: 10\n")
    run = Run(Case("c"), Variant("v"))
    with activate(run):
        snap = backups.snapshot(f)
        f.write_bytes(b"limit: 100000\n")
        backups.restore(f)
    assert snap.kind is ArtifactKind.FILE
    assert snap.run_id == run.run_id
    assert f.read_bytes() == b"limit: 10\n"
    assert [e.data["action"] for e in run.events_of("backup")] == ["snapshot", "restored"]


def test_a_deleted_file_comes_back(tmp_path: Path) -> None:
    backups = Backups(tmp_path / "bk")
    f = tmp_path / "a.txt"
    f.write_text("a")
    backups.snapshot(f)
    f.unlink()
    backups.restore(f)
    assert f.read_text() == "a"


def test_a_directory_is_restored_whole_with_its_symlinks(tmp_path: Path) -> None:
    backups = Backups(tmp_path / "bk")
    site = tmp_path / "site"
    (site / "pages").mkdir(parents=True)
    (site / "pages" / "index.html").write_text("<h1>ok</h1>")
    (site / "latest").symlink_to("pages/index.html")
    backups.snapshot(site)
    (site / "pages" / "index.html").write_text("<h1>defaced</h1>")
    (site / "pages" / "extra.html").write_text("junk")
    backups.restore(site)
    assert sorted(p.name for p in (site / "pages").iterdir()) == ["index.html"]
    assert (site / "latest").read_text() == "<h1>ok</h1>"
    assert (site / "latest").is_symlink()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_a_live_sqlite_database_is_snapshotted_and_restored(tmp_path: Path) -> None:
    backups = Backups(tmp_path / "bk")
    db = tmp_path / "orders.db"
    live = sqlite3.connect(db)
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
    live.executemany("INSERT INTO orders VALUES (?, ?)", [(1, 10.0), (2, 20.0)])
    live.commit()  # rows sit in the WAL: a plain file copy of orders.db would miss them
    snap = backups.snapshot(db)
    assert snap.kind is ArtifactKind.SQLITE
    live.execute("DELETE FROM orders")
    live.commit()
    backups.restore(db)
    assert live.execute("SELECT id, total FROM orders ORDER BY id").fetchall() == [
        (1, 10.0),
        (2, 20.0),
    ]
    live.close()


def test_marked_bad_snapshots_are_skipped(tmp_path: Path) -> None:
    backups = Backups(tmp_path / "bk")
    f = tmp_path / "a.txt"
    f.write_text("good")
    backups.snapshot(f)
    f.write_text("broken")
    backups.mark_bad(backups.snapshot(f))
    f.write_text("worse")
    backups.restore(f)
    assert f.read_text() == "good"


def test_protect_restores_when_the_block_fails(tmp_path: Path) -> None:
    backups = Backups(tmp_path / "bk")
    f = tmp_path / "a.txt"
    f.write_text("before")

    def agent_step() -> None:
        with backups.protect(f):
            f.write_text("half-written")
            raise RuntimeError("agent crashed")

    with pytest.raises(RuntimeError):
        agent_step()
    assert f.read_text() == "before"


def _live_wal_database(db: Path, rows: int = 1000) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO posts (body) VALUES (?)", [("x" * 500,) for _ in range(rows)])
    conn.commit()
    conn.close()


def _overwrite_header(db: Path) -> None:
    with db.open("r+b") as fh:
        fh.write(bytes(range(256)) * 16)


def _truncate_to_half(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 2)


def _replace_by_json(db: Path) -> None:
    db.write_text('{"oops": 1}')


DAMAGES = {
    "header overwritten": _overwrite_header,
    "truncated to half": _truncate_to_half,
    "replaced by JSON": _replace_by_json,
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_damaged_sqlite_database_is_restored_and_the_damage_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None]
) -> None:
    db, bk = tmp_path / "cms.sqlite", tmp_path / "bk"
    _live_wal_database(db)
    Backups(bk).snapshot(db)
    damage(db)
    damaged = db.read_bytes()
    Path(f"{db}-wal").write_bytes(b"a stale WAL of the damaged database")
    assert main(["restore", str(db), "--backups", str(bk)]) == 0
    out = capsys.readouterr().out
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM posts").fetchone() == (1000,)
    conn.close()
    (kept,) = tmp_path.glob("cms.sqlite.corrupt-*[0-9a-f]")
    assert f"the damaged database was kept at {kept}" in out
    assert kept.read_bytes() == damaged
    assert Path(f"{kept}-wal").read_bytes() == b"a stale WAL of the damaged database"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_sqlite_database_that_cannot_be_put_back_is_a_backup_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, bk = tmp_path / "cms.sqlite", tmp_path / "bk"
    _live_wal_database(db, rows=3)
    Backups(bk).snapshot(db)
    db.unlink()
    db.mkdir()  # a directory where the database was: not for restore to remove
    with pytest.raises(BackupError, match=r"cannot restore '.*cms\.sqlite' from snapshot"):
        Backups(bk).restore(db)
    assert main(["restore", str(db), "--backups", str(bk)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("opsladder restore: error: cannot restore")
    assert (err.count("\n"), "Traceback" in err, db.is_dir()) == (1, False, True)


def test_no_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match=r"no good snapshot.*Backups\.snapshot"):
        Backups(tmp_path / "bk").restore(tmp_path / "a.txt")
    with pytest.raises(BackupError, match="does not exist"):
        Backups(tmp_path / "bk").snapshot(tmp_path / "a.txt")


def test_cli_restore_puts_back_the_last_known_good(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "prices.csv"
    f.write_text("sku,price\n1,9.99\n")
    Backups(tmp_path / "bk").snapshot(f)
    f.write_text("sku,price\n1,0.00\n")
    assert main(["restore", str(f), "--backups", str(tmp_path / "bk")]) == 0
    assert f.read_text() == "sku,price\n1,9.99\n"
    assert main(["restore", str(f), "--backups", str(tmp_path / "bk"), "--list"]) == 0
    assert "good" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "other"), "--backups", str(tmp_path / "bk")]) == 2


@pytest.mark.parametrize("where", ["empty", "missing"])
def test_cli_restore_list_says_when_there_is_no_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    # seen: `opsladder restore --list prices.csv` printed nothing at all (exit 0)
    backups = tmp_path / "bk"
    if where == "empty":
        backups.mkdir()
    f = tmp_path / "prices.csv"
    assert main(["restore", str(f), "--backups", str(backups), "--list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"no snapshots of {str(f)!r} in {str(backups)!r}")
    assert ("no such directory: --backups or $OPSLADDER_BACKUP_DIR" in out) == (where == "missing")


def test_cli_restore_with_a_file_for_the_backups_directory_is_a_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backups = tmp_path / "bk.txt"
    backups.write_text("not a directory")
    for extra in ([], ["--list"]):
        assert main(["restore", str(tmp_path / "a.csv"), "--backups", str(backups), *extra]) == 2
        err = capsys.readouterr().err
        assert f"the backups directory {str(backups)!r} is a file, not a directory" in err
