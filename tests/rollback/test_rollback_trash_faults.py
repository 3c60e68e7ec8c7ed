"""Ladder level 5: the trash index under faults (issue 15).

An entry's metadata deleted, corrupt, of the wrong type or unreadable: the item stays in the
trash, is listed as damaged, survives `empty`, and restores only to a path the user names. A
trash directory that is missing, not a directory or unreadable is said plainly; a full disk
leaves the item where it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.rollback.errors import TrashError
from pytest_opsladder.rollback.trash import Trash, TrashEntry


def trashed(tmp_path: Path) -> tuple[Trash, TrashEntry, Path]:
    original = tmp_path / "work" / "q3.csv"
    original.parent.mkdir()
    original.write_bytes(b"a,b\n1,2\n")
    trash = Trash(tmp_path / "trash")
    return trash, trash.delete(original), original


def meta(entry: TrashEntry) -> Path:
    return Path(entry.entry_dir) / "meta.json"


def _deleted(m: Path) -> None:
    m.unlink()


def _not_json(m: Path) -> None:
    m.write_bytes(b"\x00\xffnot json")


def _wrong_field(m: Path) -> None:
    data = json.loads(m.read_text())
    m.write_text(json.dumps(data | {"original": "relative/path", "size": -1}))


def _missing_field(m: Path) -> None:
    data = json.loads(m.read_text())
    del data["kind"]
    m.write_text(json.dumps(data))


def _fifo(m: Path) -> None:
    m.unlink()
    os.mkfifo(m)


def _directory(m: Path) -> None:
    m.unlink()
    m.mkdir()


def _symlink_loop(m: Path) -> None:  # unreadable for root too
    m.unlink()
    m.symlink_to(m)


def _bad_time(m: Path) -> None:
    data = json.loads(m.read_text())
    m.write_text(json.dumps(data | {"deleted_at": "yesterday"}))


DAMAGE: list[tuple[str, Callable[[Path], None]]] = [
    ("deleted", _deleted),
    ("corrupt", _not_json),
    ("invalid field values", _wrong_field),
    ("missing field", _missing_field),
    ("bad deletion time", _bad_time),
    ("fifo", _fifo),
    ("directory", _directory),
    ("unreadable", _symlink_loop),
]


@pytest.mark.parametrize(("name", "damage"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_metadata_keeps_the_item_listed_and_restorable_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, damage: Callable[[Path], None]
) -> None:
    trash, entry, original = trashed(tmp_path)
    damage(meta(entry))
    assert trash.entries() == []
    [damaged] = trash.damaged()
    assert damaged.id == entry.id
    assert trash.empty(older_than=0) == []  # its age is unknown: never deleted for good
    assert main(["trash", "--dir", str(trash.root), "empty", "--older-than", "0s"]) == 0
    assert main(["trash", "--dir", str(trash.root), "list"]) == 0
    out = capsys.readouterr().out
    assert f"{entry.id}\tDAMAGED" in out
    assert "kept 1 damaged item(s)" in out
    with pytest.raises(TrashError, match="is damaged"):
        trash.restore(entry.id)  # the original path cannot be trusted
    assert not original.exists()
    back = trash.restore(entry.id, to=tmp_path / "recovered.csv")
    assert back.read_bytes() == b"a,b\n1,2\n"
    assert trash.damaged() == []


def test_an_item_swapped_for_another_kind_is_refused(tmp_path: Path) -> None:
    trash, entry, original = trashed(tmp_path)
    entry.item.unlink()
    entry.item.mkdir()
    with pytest.raises(TrashError, match="changed inside the trash"):
        trash.restore(entry)
    assert not original.exists()


def test_a_deleted_trash_directory_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trash", "--dir", str(tmp_path / "gone"), "list"]) == 0
    assert "there is no trash directory at" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["file", "loop"])
def test_a_trash_path_that_is_not_a_readable_directory_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    root = tmp_path / "trash"
    root.write_text("x") if kind == "file" else root.symlink_to(root)
    assert main(["trash", "--dir", str(root), "list"]) == 2
    assert "cannot read the trash" in capsys.readouterr().err
    (tmp_path / "a.txt").write_text("keep me")
    with pytest.raises(TrashError):
        Trash(root).delete(tmp_path / "a.txt")
    assert (tmp_path / "a.txt").read_text() == "keep me"


_FULL_DISK = """
import resource, signal, sys
from pytest_opsladder.rollback.errors import TrashError
from pytest_opsladder.rollback.trash import Trash
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
try:
    Trash(sys.argv[1]).delete(sys.argv[2])
except TrashError as exc:
    print("refused:", exc)
"""


def test_a_full_disk_leaves_the_item_where_it_was(tmp_path: Path) -> None:
    item = tmp_path / "report.txt"
    item.write_text("quarterly")
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(tmp_path / "trash"), str(item)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "refused:" in done.stdout, done.stderr
    assert item.read_text() == "quarterly"
    trash = Trash(tmp_path / "trash")
    assert (trash.entries(), trash.damaged(), trash.orphans()) == ([], [], [])
