"""No malformed cassette gets in (issue 14): >= 300 generated mutants, only named errors.

Each mutant is loaded, validated by ``opsladder cassette validate``, shown by ``cassette show``
and, when it loads, replayed by a plain agent (tools, a recorded error, httpx with a JSON
response, a stream and a binary body). The user may only ever see the project's named errors:
a raw KeyError/TypeError/RecursionError... reaching the user is a defect, and so is a hang.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mutants import URL, Mutant, all_mutants, dump, good_envelope

from pytest_opsladder import Case, Mode, RunRecorder, Variant, tool
from pytest_opsladder.cassette import files
from pytest_opsladder.cli import main
from pytest_opsladder.exceptions import CassetteError, CassetteFormatError, OpsladderError

MUTANTS = all_mutants()


@tool(name="mut_lookup")
def lookup(i: int) -> dict[str, Any]:
    return {"id": i}


@tool(name="mut_fail")
def fail() -> None:
    raise ValueError("boom", 3)


# One client for every replay: building its TLS context costs more than a replay.
CLIENT = httpx.Client()


def agent(client: httpx.Client = CLIENT) -> list[Any]:
    out: list[Any] = [lookup(1)]
    try:
        fail()
    except OpsladderError:
        raise
    except Exception as exc:  # the recorded error, replayed: the agent handles it
        out.append([type(exc).__name__, list(exc.args)])
    out.append(client.post(URL + "/v1/x", json={"q": 1}).json())
    with client.stream("GET", URL + "/sse") as stream:
        out.append(b"".join(stream.iter_bytes()).decode())
    out.append(client.get(URL + "/bin").content.hex())
    return out


def replay(path: Path) -> list[Any]:
    with RunRecorder(Case("mut"), Variant("v", model="m1"), path, mode=Mode.REPLAY) as run:
        run.output = agent()
    return list(run.output)


class Hang(BaseException):
    pass


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def hang(*_: Any) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def written(tmp: Path, mutant: Mutant, i: int) -> Path:
    path = tmp / f"m{i:03d}{mutant.suffix}"
    path.write_bytes(mutant.content)
    return path


def outcome(path: Path) -> str:
    """'refused' (a named CassetteError), 'replayed', 'replay-error' (named), or a defect."""
    try:
        with deadline(20):
            try:
                files.load(path)
            except CassetteError as exc:
                return "refused" if str(path) in str(exc) else f"DEFECT unnamed file: {exc}"
            try:
                replay(path)
            except OpsladderError:
                return "replay-error"
            return "replayed"
    except Hang:
        return "DEFECT hang"
    except Exception as exc:
        return f"DEFECT raw {type(exc).__name__}: {str(exc)[:120]}"


def test_the_unmutated_cassette_replays(tmp_path: Path) -> None:
    path = tmp_path / "good.json"
    path.write_bytes(dump(good_envelope()))
    assert replay(path) == [
        {"id": 1, "tags": ["a", "b"]},
        ["ValueError", ["boom", 3]],
        {"ok": True},
        'data: {"d": "hello"}\n\n',
        "ff0001",
    ]


def test_at_least_300_mutants_of_every_class_give_only_named_errors(tmp_path: Path) -> None:
    assert len(MUTANTS) >= 300
    classes = {m.id.split(":")[0].rstrip("0123456789") for m in MUTANTS}
    assert {"del", "set", "version", "truncate", "flip", "yaml", "replay"} <= classes
    results = {m.id: outcome(written(tmp_path, m, i)) for i, m in enumerate(MUTANTS)}
    defects = {k: v for k, v in results.items() if v.startswith("DEFECT")}
    assert defects == {}
    assert sum(v == "refused" for v in results.values()) >= 250
    for must_refuse in ("version:True", "version:1.0", "yaml:version-float", "yaml:timestamp"):
        assert results[must_refuse] == "refused"
    assert results["replay:error-str"] == "replay-error"


def test_validate_reports_every_bad_file_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "cassettes"
    root.mkdir()
    paths = [written(root, m, i) for i, m in enumerate(MUTANTS)]
    (root / "good.json").write_bytes(dump(good_envelope()))
    refused = []
    for path in paths:
        try:
            files.load(path)
        except CassetteError:
            refused.append(path)
    with deadline(120):
        code = main(["cassette", "validate", str(root)])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"{len(paths) + 1 - len(refused)} valid, {len(refused)} invalid cassette(s)" in out
    assert [p for p in refused if f"FAIL {p}" not in err] == []
    assert "Traceback" not in err


def test_show_never_prints_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    codes = {}
    for i, mutant in enumerate(MUTANTS):
        path = written(tmp_path, mutant, i)
        with deadline(20):
            codes[mutant.id] = main(["cassette", "show", str(path)])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, mutant.id
        assert codes[mutant.id] == 0 or err.startswith("opsladder cassette: error: "), mutant.id
    assert set(codes.values()) == {0, 2}


def test_validate_as_a_command_names_each_bad_file(tmp_path: Path) -> None:
    root = tmp_path / "cassettes"
    root.mkdir()
    for i, mutant in enumerate([m for m in MUTANTS if m.id.startswith("yaml:")][:6]):
        written(root, mutant, i)
    (root / "good.json").write_bytes(dump(good_envelope()))
    done = subprocess.run(
        ["opsladder", "cassette", "validate", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.count("FAIL ") == 6
    assert "1 valid, 6 invalid cassette(s)" in done.stdout


def test_the_fast_pass_never_accepts_what_the_checker_refuses() -> None:
    """Loading validates with a path-free pass first (issue 18) and runs the checker, which
    names the place, only when that pass says no: on every JSON mutant the two agree."""
    from pytest_opsladder.cassette.schema import SCHEMA, _Checker, _Fast

    compared = 0
    for mutant in all_mutants():
        if mutant.suffix != ".json":
            continue
        try:
            data = json.loads(mutant.content)
        except (ValueError, RecursionError):
            continue  # not JSON at all: refused before validation
        try:
            _Checker(Path("m.json")).check(data, SCHEMA, "$", 0)
            refused = False
        except CassetteFormatError:
            refused = True
        fast = _Fast()
        accepted = fast.valid(data, SCHEMA, 0)
        assert not (accepted and refused), mutant.id
        assert accepted or refused, f"{mutant.id}: the fast pass refused a valid cassette"
        compared += 1
    assert compared >= 250
