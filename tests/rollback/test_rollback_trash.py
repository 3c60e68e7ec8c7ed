"""Ladder level 5: delete means trash; restores are byte-identical and never collide."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pytest_opsladder.capture.boundary import ToolBoundary
from pytest_opsladder.capture.run import Run, activate
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cli import main
from pytest_opsladder.rollback import trash as trash_mod
from pytest_opsladder.rollback.errors import PartialTrashError, RestoreConflictError, TrashError
from pytest_opsladder.rollback.trash import Trash, parse_duration


def test_trash_keeps_metadata_and_restores_byte_identical(tmp_path: Path) -> None:
    trash = Trash(tmp_path / "trash")
    target = tmp_path / "data" / "report.bin"
    target.parent.mkdir()
    payload = bytes(range(256)) * 40
    target.write_bytes(payload)
    os.chmod(target, 0o640)
    mtime = target.stat().st_mtime_ns
    run = Run(Case("c"), Variant("v"))
    with activate(run):
        entry = trash.delete(target)
    assert not target.exists()
    assert entry.original == str(target)
    assert entry.run_id == run.run_id
    assert entry.deleted_at.endswith("Z")
    assert (
        abs(
            dt.datetime.fromisoformat(entry.deleted_at[:-1] + "+00:00").timestamp()
            - dt.datetime.now(dt.UTC).timestamp()
        )
        < 600
    )
    assert [e.kind for e in trash.entries()] == ["file"]
    with activate(run):
        trash.restore(entry)
    assert target.read_bytes() == payload
    assert (target.stat().st_mode & 0o777, target.stat().st_mtime_ns) == (0o640, mtime)
    assert [e.data["action"] for e in run.events_of("trash")] == ["trashed", "restored"]
    assert trash.entries() == []


def test_a_directory_tree_restores_whole(tmp_path: Path) -> None:
    trash = Trash(tmp_path / "trash")
    tree = tmp_path / "site"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "x.txt").write_text("x")
    (tree / "link").symlink_to("a/b/x.txt")
    entry = trash.delete(tree)
    trash.restore(entry.id)
    assert (tree / "a" / "b" / "x.txt").read_text() == "x"
    assert os.readlink(tree / "link") == "a/b/x.txt"


def test_a_dangling_symlink_is_trashed_and_restored_as_the_link(tmp_path: Path) -> None:
    trash = Trash(tmp_path / "trash")
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere")
    entry = trash.delete(link)
    assert entry.kind == "symlink"
    assert not os.path.lexists(link)
    trash.restore(entry)
    assert link.is_symlink()
    assert os.readlink(link) == str(tmp_path / "nowhere")


def test_a_symlink_is_trashed_not_its_target(tmp_path: Path) -> None:
    trash = Trash(tmp_path / "trash")
    real = tmp_path / "real.txt"
    real.write_text("keep me")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    trash.delete(link)
    assert real.read_text() == "keep me"


def test_same_names_never_collide_under_threads(tmp_path: Path) -> None:
    trash = Trash(tmp_path / "trash")
    dirs = [tmp_path / f"d{i}" for i in range(40)]
    for i, d in enumerate(dirs):
        d.mkdir()
        (d / "report.txt").write_text(f"version {i}")
    barrier = threading.Barrier(8)

    def delete(d: Path) -> str:
        if int(d.name[1:]) < 8:
            barrier.wait(timeout=10)
        return trash.delete(d / "report.txt").id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(delete, dirs))
    assert len(set(ids)) == 40
    for entry in trash.entries():
        trash.restore(entry)
    assert sorted(d.joinpath("report.txt").read_text() for d in dirs) == sorted(
        f"version {i}" for i in range(40)
    )


_DELETER = """
import sys
from pathlib import Path
from pytest_opsladder.rollback.trash import Trash
trash, base, n = Trash(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    trash.delete(base / f"{i}" / "same.txt")
"""


def test_same_names_never_collide_across_processes(tmp_path: Path) -> None:
    trash_dir = tmp_path / "trash"
    bases = []
    for p in range(3):
        base = tmp_path / f"p{p}"
        for i in range(30):
            (base / str(i)).mkdir(parents=True)
            (base / str(i) / "same.txt").write_text(f"{p}-{i}")
        bases.append(base)
    procs = [
        subprocess.Popen([sys.executable, "-c", _DELETER, str(trash_dir), str(b), "30"])
        for b in bases
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    entries = Trash(trash_dir).entries()
    assert len({e.id for e in entries}) == 90
    Trash(trash_dir).restore_all(entries)
    assert {(b / str(i) / "same.txt").read_text() for b in bases for i in range(30)} == {
        f"{p}-{i}" for p in range(3) for i in range(30)
    }


def test_a_failure_mid_way_leaves_everything_trashed_restorable(tmp_path: Path) -> None:
    trash = Trash(tmp_path / "trash")
    files = [tmp_path / f"f{i}.txt" for i in range(3)]
    for f in files:
        f.write_text(f.name)
    missing = tmp_path / "missing.txt"
    with pytest.raises(PartialTrashError) as info:
        trash.delete_many([files[0], files[1], missing, files[2]])
    assert [e.original for e in info.value.trashed] == [str(files[0]), str(files[1])]
    assert files[2].exists()  # never touched
    trash.restore_all(info.value.trashed)
    assert [f.read_text() for f in files] == ["f0.txt", "f1.txt", "f2.txt"]


def test_restore_never_overwrites(tmp_path: Path) -> None:
    trash = Trash(tmp_path / "trash")
    f = tmp_path / "a.txt"
    f.write_text("old")
    entry = trash.delete(f)
    f.write_text("new")
    with pytest.raises(RestoreConflictError, match="already exists"):
        trash.restore(entry)
    assert f.read_text() == "new"
    trash.restore(entry, to=tmp_path / "a.restored.txt")
    assert (tmp_path / "a.restored.txt").read_text() == "old"


def test_a_read_only_trash_leaves_the_item_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trash_dir = tmp_path / "trash"
    trash_dir.mkdir()
    os.chmod(trash_dir, 0o555)
    if os.geteuid() == 0:  # root ignores mode bits: make mkdir fail as it would for a user
        real_mkdir = Path.mkdir

        def read_only_mkdir(self: Path, *a: object, **kw: object) -> None:
            if self.parent == trash_dir:
                raise PermissionError(13, "Permission denied", str(self))
            real_mkdir(self, *a, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "mkdir", read_only_mkdir)
    f = tmp_path / "keep.txt"
    f.write_text("keep")
    try:
        with pytest.raises(TrashError, match="is not writable") as info:
            Trash(trash_dir).delete(f)
    finally:
        os.chmod(trash_dir, 0o755)
    assert "Nothing was moved" in str(info.value)
    assert f.read_text() == "keep"
    assert list(trash_dir.iterdir()) == []


def test_a_crash_between_metadata_and_move_loses_nothing(tmp_path: Path) -> None:
    trash_dir = tmp_path / "trash"
    f = tmp_path / "precious.txt"
    f.write_text("precious")
    script = (
        "import os,sys\nfrom pytest_opsladder.rollback import trash as t\n"
        "t._move = lambda src, dst: os._exit(9)\n"  # the process dies right before the move
        "t.Trash(sys.argv[1]).delete(sys.argv[2])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(trash_dir), str(f)], check=False)
    assert done.returncode == 9
    trash = Trash(trash_dir)
    assert f.read_text() == "precious"
    assert trash.entries() == []
    assert len(trash.orphans()) == 1
    assert trash.repair()
    assert trash.orphans() == []
    trash.restore(trash.delete(f))
    assert f.read_text() == "precious"


def test_a_failed_move_cleans_its_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: Path, dst: Path) -> None:
        raise PermissionError(13, "Permission denied", str(src))

    monkeypatch.setattr(trash_mod, "_move", refuse)
    trash = Trash(tmp_path / "trash")
    f = tmp_path / "x.txt"
    f.write_text("x")
    with pytest.raises(TrashError, match="left where it was"):
        trash.delete(f)
    assert f.exists()
    assert trash.orphans() == []
    assert trash.entries() == []


def test_trashing_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TrashError, match="nothing is there"):
        Trash(tmp_path / "trash").delete(tmp_path / "ghost")


def test_empty_older_than_keeps_recent_items(tmp_path: Path) -> None:
    trash = Trash(tmp_path / "trash")
    now = dt.datetime.now(dt.UTC)
    for name, age in [("old.txt", 10), ("new.txt", 1)]:
        (tmp_path / name).write_text(name)
        trash.delete(tmp_path / name, now=now - dt.timedelta(days=age))
    gone = trash.empty(parse_duration("7d"), now=now)
    assert len(gone) == 1
    assert "old.txt" in gone[0]
    assert [Path(e.original).name for e in trash.entries()] == ["new.txt"]


def test_a_bad_duration_lists_the_units() -> None:
    with pytest.raises(Exception, match=r"'7 days' is not understood.*7d, 12h"):
        parse_duration("7 days")


def test_cli_list_restore_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trash_dir = tmp_path / "trash"
    f = tmp_path / "doc.txt"
    f.write_text("doc")
    entry = Trash(trash_dir).delete(f)
    assert main(["trash", "--dir", str(trash_dir), "list"]) == 0
    assert entry.id in capsys.readouterr().out
    assert main(["trash", "--dir", str(trash_dir), "restore", entry.id]) == 0
    assert f.read_text() == "doc"
    assert main(["trash", "--dir", str(trash_dir), "restore", "nope"]) == 2
    assert "no trash entry 'nope'" in capsys.readouterr().err
    Trash(trash_dir).delete(f)
    assert main(["trash", "--dir", str(trash_dir), "empty", "--older-than", "1d"]) == 0
    assert "emptied 0 item(s)" in capsys.readouterr().out
    assert main(["trash", "--dir", str(trash_dir), "empty", "--older-than", "0s"]) == 0
    assert Trash(trash_dir).entries() == []


def test_delete_works_through_an_outbound_tool(tmp_path: Path) -> None:
    from pytest_opsladder.capture.tools import tool

    trash = Trash(tmp_path / "trash")

    @tool(outbound=True)
    def remove(path: str) -> str:
        return trash.delete(path).id

    f = tmp_path / "t.txt"
    f.write_text("t")
    run = Run(Case("c"), Variant("v"))
    run.boundary = ToolBoundary()
    with activate(run):
        entry_id = remove(str(f))
    assert [e.name for e in run.events_of("tool_call")] == ["remove"]
    assert run.events_of("trash")[0].data["entry"] == entry_id


def test_empty_older_than_more_than_anything_can_be_keeps_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--older-than 99999999999999w` reaches back before year 1: an OverflowError traceback
    trash_dir = tmp_path / "trash"
    (tmp_path / "doc.txt").write_text("doc")
    Trash(trash_dir).delete(tmp_path / "doc.txt")
    argv = ["trash", "--dir", str(trash_dir), "empty", "--older-than", "99999999999999w"]
    assert main(argv) == 0
    assert "emptied 0 item(s)" in capsys.readouterr().out
    assert len(Trash(trash_dir).entries()) == 1
