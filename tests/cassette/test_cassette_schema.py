"""The published cassette schema (issue 14): one truth, in the package and in docs/, that the
reference validator agrees with."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import jsonschema
import pytest
from mutants import HAND_EDITS, all_mutants, dump, good_envelope, hand_edited

from pytest_opsladder.cassette import files, layout
from pytest_opsladder.cassette.schema import (
    JSON_FORMATS,
    SCHEMA,
    SCHEMA_FILE,
    published_schema,
    validate,
)
from pytest_opsladder.cli import main
from pytest_opsladder.exceptions import CassetteFormatError

DOCS = Path(__file__).parents[2] / "docs" / "cassette-schema.json"


def test_the_published_files_are_the_schema_the_loader_enforces() -> None:
    assert published_schema() == SCHEMA
    assert json.loads(DOCS.read_text()) == SCHEMA
    assert SCHEMA_FILE.read_text() == DOCS.read_text()
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_reference_validator_agrees_on_every_parsable_mutant(tmp_path: Path) -> None:
    reference = jsonschema.Draft202012Validator(SCHEMA)
    compared = 0
    for i, mutant in enumerate([m for m in all_mutants() if m.suffix == ".json"]):
        try:
            data = json.loads(mutant.content)
        except (ValueError, RecursionError):
            continue
        if any(k in mutant.id for k in ("nan", "inf", "deep", "version:1.0")):
            continue  # stricter than JSON Schema: no NaN, a depth bound, 1.0 is no integer
        path = tmp_path / f"m{i}.json"
        path.write_bytes(mutant.content)
        try:
            files.load_envelope(path)
            ours = True
        except CassetteFormatError:
            ours = False
        except Exception:
            continue  # refused before the schema (format, unknown version): not a schema case
        assert ours == reference.is_valid(data), mutant.id
        compared += 1
    assert compared >= 200
    assert reference.is_valid(json.loads(dump(good_envelope())))


@pytest.mark.parametrize("body", [{"text": "{}"}, {"base64": "AA=="}, {"json": {"a": [1]}}])
def test_a_body_is_text_base64_or_structured_json(tmp_path: Path, body: dict[str, object]) -> None:
    envelope = good_envelope()
    envelope["run"]["http"][0]["response"]["body"] = body
    path = tmp_path / "c.json"
    path.write_bytes(dump(envelope))
    files.load(path)


def test_a_format_error_names_the_file_the_json_path_and_what_was_expected(
    tmp_path: Path,
) -> None:
    envelope = good_envelope()
    envelope["run"]["events"][1]["seq"] = "one"
    path = tmp_path / "c.json"
    path.write_bytes(dump(envelope))
    with pytest.raises(CassetteFormatError) as info:
        files.load(path)
    assert info.value.json_path == "$.run.events[1].seq"
    assert info.value.expected == "an integer"
    assert str(path) in str(info.value)
    assert "found a string 'one'" in str(info.value)


def test_a_mapping_of_a_dict_subclass_is_checked_like_a_dict() -> None:
    # validate() is public: an OrderedDict (not json.loads's dict) must not skip the checks
    with pytest.raises(CassetteFormatError, match="key 'format'"):
        validate(OrderedDict({"totally": "wrong"}), Path("x.json"))


@pytest.mark.parametrize("name", list(HAND_EDITS))
def test_a_hand_edit_the_code_would_misread_is_refused_at_its_place(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manifest field of the wrong type (replay crashed on it), a body or stream chunk with
    no data (replayed as empty), a tool call with no result (replayed as None): each is a
    CassetteFormatError naming the file and the JSON path, and `cassette validate` says so."""
    json_path = HAND_EDITS[name][2]
    path = tmp_path / "c.json"
    path.write_bytes(hand_edited(name))
    with pytest.raises(CassetteFormatError) as info:
        files.load(path)
    assert info.value.json_path == json_path
    assert str(path) in str(info.value)
    assert "re-record the run" in str(info.value)
    assert main(["cassette", "validate", str(path)]) == 1
    assert f"FAIL {path}: at {json_path}: expected " in capsys.readouterr().err


def test_a_body_with_no_data_says_which_keys_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(hand_edited("body-only-t"))
    with pytest.raises(CassetteFormatError) as info:
        files.load(path)
    assert info.value.expected == "an object with exactly one of the keys 'text', 'base64', 'json'"


def test_the_schema_names_the_body_formats_the_writer_uses() -> None:
    assert tuple(layout.BODY_FORMATS) == JSON_FORMATS


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
@pytest.mark.parametrize("stale", [[], ["--opsladder-rerecord-stale"]], ids=["replay", "stale"])
def test_a_hand_edited_manifest_fails_replay_with_the_named_error(
    pytester: pytest.Pytester, xdist: list[str], stale: list[str]
) -> None:
    """`packages` edited to a string passed validate and crashed the stale check of replay with
    AttributeError: 'str' object has no attribute 'get'."""
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
    pytester.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=1)
    path = pytester.path / "cassettes/opsladder/test_agent/test_one/baseline.json"
    envelope = json.loads(path.read_text())
    envelope["run"]["manifest"]["packages"] = "x"
    path.write_text(json.dumps(envelope))
    result = pytester.runpytest(*stale, *xdist)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*{path}: at $.run.manifest.packages: expected an object*"])
    assert "AttributeError" not in result.stdout.str()
    assert "pytest_opsladder/" not in result.stdout.str()  # no frames of ours: one message
