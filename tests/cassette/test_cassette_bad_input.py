"""Ladder level 0: every bad cassette is a clear error naming the file; nothing in one executes."""

from __future__ import annotations

import errno
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_opsladder import Case, Mode, RecordMode, Run, RunRecorder, RunStatus, Variant, tool
from pytest_opsladder.cassette import files
from pytest_opsladder.exceptions import (
    CassetteCorruptError,
    CassetteError,
    CassetteNotFoundError,
    CassetteSchemaError,
    CassetteWriteError,
)


@tool(name="bad_fetch")
def fetch(x: int) -> int:
    return x


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    path = tmp_path / "case" / "v.json"
    with RunRecorder(
        Case("c"), Variant("v"), path, mode=Mode.RECORD, record_mode=RecordMode.ALL
    ) as run:
        run.output = [fetch(i) for i in range(20)]
    return path


def replay(path: Path) -> None:
    with RunRecorder(Case("c"), Variant("v"), path, mode=Mode.REPLAY):
        fetch(0)


def test_a_good_cassette_round_trips(cassette: Path) -> None:
    run = files.load(cassette)
    assert run.status is RunStatus.COMPLETE
    assert run.output == list(range(20))
    envelope = json.loads(cassette.read_text())
    assert sorted(envelope) == ["format", "run", "schema_version"]
    assert envelope["format"] == "pytest-opsladder/cassette"
    assert envelope["schema_version"] == 1
    assert cassette.read_text() == files.dumps(run)  # stable: loading and saving is a no-op
    replay(cassette)


def test_truncated_cassette(cassette: Path) -> None:
    data = cassette.read_bytes()
    cassette.write_bytes(data[: len(data) // 2])
    with pytest.raises(CassetteCorruptError) as info:
        replay(cassette)
    message = str(info.value)
    assert str(cassette) in message
    assert "not valid JSON" in message
    assert "truncated" in message
    assert "--opsladder-mode=record" in message
    assert info.value.path == cassette


@pytest.mark.parametrize(
    "content",
    [b"this is not json at all\n", b"", b"\xff\xfe\x00garbage", b"[1, 2, 3]\n", b'{"run": {}}'],
    ids=["text", "empty", "not-utf8", "json-list", "no-envelope"],
)
def test_corrupt_cassette(cassette: Path, content: bytes) -> None:
    cassette.write_bytes(content)
    with pytest.raises(CassetteCorruptError) as info:
        files.load(cassette)
    assert str(cassette) in str(info.value)
    assert "re-record" in str(info.value).lower()


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_unknown_schema_version_names_file_and_readable_versions(
    cassette: Path, version: object
) -> None:
    envelope = json.loads(cassette.read_text())
    envelope["schema_version"] = version
    cassette.write_text(json.dumps(envelope))
    with pytest.raises(CassetteSchemaError) as info:
        replay(cassette)
    message = str(info.value)
    assert str(cassette) in message
    assert f"schema_version {version!r}" in message
    assert "reads version(s) 1" in message
    assert info.value.found == version


def test_a_directory_is_not_a_cassette(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="directory"):
        files.load(tmp_path)


def test_missing_cassette(tmp_path: Path) -> None:
    with pytest.raises(CassetteNotFoundError, match="--opsladder-mode=record"):
        files.load(tmp_path / "nope.json")


def _yaml_exploit(marker: Path) -> str:
    return (
        "format: pytest-opsladder/cassette\nschema_version: 1\nrun:\n"
        f"  output: !!python/object/apply:os.system ['touch {marker}']\n"
    )


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_yaml_python_tags_are_refused_never_executed(tmp_path: Path, suffix: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / f"evil{suffix}"
    path.write_text(_yaml_exploit(marker))
    with pytest.raises(CassetteCorruptError) as info:
        files.load(path)
    assert not marker.exists()
    assert str(path) in str(info.value)
    assert "never executed" in str(info.value) or "refused" in str(info.value)


def test_yaml_exploit_would_have_run_under_an_unsafe_loader(tmp_path: Path) -> None:
    """Proves the payload above is live, so the refusal test is not vacuous."""
    import yaml

    marker = tmp_path / "pwned"
    yaml.load(_yaml_exploit(marker), Loader=yaml.UnsafeLoader)
    assert marker.exists()


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("name", ["evil.json", "evil.yaml", "evil.pkl"])
def test_pickle_payload_is_refused_never_unpickled(
    tmp_path: Path, name: str, protocol: int
) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"run": _Exploit(marker)}, protocol=protocol)
    path = tmp_path / name
    path.write_bytes(payload)
    with pytest.raises(CassetteCorruptError) as info:
        files.load(path)
    assert not marker.exists()
    assert str(path) in str(info.value)
    pickle.loads(payload)
    assert marker.exists()


def test_yaml_cassette_round_trips_with_the_safe_loader(cassette: Path) -> None:
    run = files.load(cassette)
    path = files.save(run, cassette.with_suffix(".yaml"))
    assert "!!python" not in path.read_text()
    again = files.load(path)
    assert again.to_dict() == run.to_dict()


def test_unwritable_cassette_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a regular file where the cassette directory should be")
    path = blocker / "case" / "v.json"
    rec = RunRecorder(Case("c"), Variant("v"), path, mode=Mode.RECORD, record_mode=RecordMode.ALL)
    with pytest.raises(CassetteWriteError) as info, rec:
        fetch(1)
    message = str(info.value)
    assert f"cannot write cassette {path}" in message
    assert "--opsladder-cassette-dir" in message
    assert info.value.path == path
    assert rec.run.status is RunStatus.COMPLETE  # the run itself ended fine; only the write failed


def test_a_failed_write_leaves_the_previous_cassette_and_no_temp_file(
    cassette: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = cassette.read_bytes()

    def disk_full(fd: int) -> None:  # a fault this test cannot cause for real
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    run = Run(Case("c"), Variant("v"))
    run.finish("new")
    with pytest.raises(CassetteWriteError) as info:
        files.save(run, cassette)
    message = str(info.value)
    assert f"cannot write cassette {cassette}: No space left on device" in message
    assert "the cassette there is unchanged" in message
    assert f"Fix: free space on the disk holding {cassette.parent}" in message
    assert info.value.path == cassette
    assert cassette.read_bytes() == before
    assert sorted(p.name for p in cassette.parent.iterdir()) == ["v.json"]


FILE_SIZE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from pytest_opsladder import Case, Mode, RecordMode, RunRecorder, Variant
from pytest_opsladder.exceptions import CassetteWriteError

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
limit, size = int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
path = Path(sys.argv[1])
try:
    with RunRecorder(Case("c"), Variant("v"), path, mode=Mode.RECORD,
                     record_mode=RecordMode.ALL) as run:
        run.output = "x" * size   # the cassette outgrows the file size limit
except CassetteWriteError as exc:
    print("NAMED", exc)
"""


@pytest.mark.parametrize(
    ("limit", "size"),
    [(32_000, 200_000), (1_000, 3_000)],
    ids=["fails-in-write", "fails-in-flush"],  # the small run is still buffered when it fails
)
def test_a_write_that_fails_mid_file_is_a_named_error_and_keeps_the_cassette(
    cassette: Path, limit: int, size: int
) -> None:
    """A real write failure (the process's file size limit, as a full disk fails a write):
    the error names the cassette, the temp file is removed, the good cassette is kept."""
    before = cassette.read_bytes()
    done = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMIT, str(cassette), str(limit), str(size)],
        cwd=cassette.parent,  # outside any git checkout: the run's `git status` writes nothing
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"NAMED cannot write cassette {cassette}: File too large")
    assert "the cassette there is unchanged" in done.stdout
    assert "Fix: free space on the disk" in done.stdout
    assert cassette.read_bytes() == before
    assert sorted(p.name for p in cassette.parent.iterdir()) == ["v.json"]


@pytest.mark.parametrize("record_mode", ["all", "rewrite"])
def test_a_directory_where_the_cassette_goes_is_a_named_error(
    pytester: pytest.Pytester, record_mode: str
) -> None:
    pytester.makepyfile(
        test_agent="""
import pytest
from pytest_opsladder import tool

@tool
def lookup(x: int) -> int:
    return x

@pytest.mark.opsladder
def test_one(opsladder_run):
    opsladder_run.output = lookup(1)
"""
    )
    cassette = pytester.path / "cassettes/opsladder/test_agent/test_one/baseline.json"
    (cassette / "notes").mkdir(parents=True)
    result = pytester.runpytest("--opsladder-mode=record", f"--opsladder-record-mode={record_mode}")
    assert result.parseoutcomes()["errors"] == 1  # at teardown, when the run is written
    result.stdout.fnmatch_lines(
        [f"*cannot * cassette {cassette}: Is a directory*{cassette} is a directory; move it away*"]
    )
    assert "INTERNALERROR" not in result.stdout.str()
    assert (cassette / "notes").is_dir()
    assert sorted(p.name for p in cassette.parent.iterdir()) == ["baseline.json"]  # no temp file


def test_unwritable_cassette_dir_through_pytest(pytester: pytest.Pytester) -> None:
    (pytester.path / "blocker").write_text("a file, not a directory")
    pytester.makepyfile(
        test_agent="""
import pytest
from pytest_opsladder import tool

@tool
def lookup(x: int) -> int:
    return x

@pytest.mark.opsladder
def test_one():
    lookup(1)
"""
    )
    result = pytester.runpytest("--opsladder-mode=record", "--opsladder-cassette-dir=blocker/sub")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*cannot write cassette*blocker/sub*--opsladder-cassette-dir*"])
    assert "INTERNALERROR" not in result.stdout.str()


def _nested(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def _record(path: Path, output: object) -> None:
    with RunRecorder(
        Case("c"), Variant("v"), path, mode=Mode.RECORD, record_mode=RecordMode.ALL
    ) as run:
        run.output = output


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_run_nested_past_the_schema_is_refused_and_the_good_cassette_kept(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"v{suffix}"
    _record(path, _nested(62))  # the deepest output a cassette holds: written and loaded
    assert files.load(path).output == _nested(62)
    before = path.read_bytes()
    with pytest.raises(CassetteWriteError) as info:
        _record(path, {"plan": [_nested(70)]})
    message = str(info.value)
    assert str(path) in message
    assert "$.run.output.plan[0].a.a" in message
    assert "64 levels" in message
    assert "the cassette there is unchanged" in message
    assert "Fix: record a flatter value" in message
    assert path.read_bytes() == before  # the good recording is not replaced


def test_a_run_nested_past_the_stack_is_the_same_named_error(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    with pytest.raises(CassetteWriteError, match=r"\$\.run\.output\.a\.a.*64 levels"):
        _record(path, _nested(600))  # the secret scan's walk ran out of stack first
    assert not path.exists()
