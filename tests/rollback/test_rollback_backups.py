"""Ladder level 5: snapshot before a change, restore the last known good in one call."""

from __future__ import annotations

import sqlite3
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
