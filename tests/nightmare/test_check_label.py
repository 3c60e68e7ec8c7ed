"""A failed check is named as the case file wrote it (YAML flow style), so a reviewer reading
the terminal, results.json or the report finds the line to look at; a long one ends in an
ellipsis instead of being cut mid-token."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from nightmare_helpers import case_yaml, write_case

from pytest_opsladder.nightmare.case import load_case
from pytest_opsladder.nightmare.check_label import LABEL_WIDTH, check_label

# Check lines as users write them; each label is the line itself.
LINES = [
    "contains: refund",
    "contains: {path: tags, value: databases}",
    "exact: {path: answer, value: 1}",
    "exact: {path: error, value: null}",
    'exact: {path: status, value: "true"}',
    'exact: {path: ratio, value: "1.5"}',
    'not_contains: "DROP TABLE users; -- x, y: z"',
    'regex: {path: title, pattern: "^[A-Z]"}',
    "tool_trajectory: {mode: strict, calls: [find_draft, list_tags, upsert_draft]}",
    "json_schema: {schema: {type: object, required: [title]}}",
]


def _labels(tmp_path: Path, lines: list[str]) -> list[str]:
    checks = "".join(f"  - {line}\n" for line in lines)
    path = tmp_path / "case.yaml"
    path.write_text(f"id: c\ninput: {{q: x}}\nchecks:\n{checks}", encoding="utf-8")
    return [check.label() for check in load_case(path).checks]


def test_a_check_is_named_as_the_case_file_wrote_it(tmp_path: Path) -> None:
    assert _labels(tmp_path, LINES) == LINES


@pytest.mark.parametrize("line", LINES)
def test_a_label_reads_back_as_the_same_check(tmp_path: Path, line: str) -> None:
    (label,) = _labels(tmp_path, [line])
    assert yaml.safe_load(label) == yaml.safe_load(line)


def test_a_long_check_ends_in_an_ellipsis_at_the_width() -> None:
    rubric = " ".join(["The answer must be polite and cite section 4.2 of the refund policy."] * 5)
    label = check_label("judge", {"name": "tone", "rubric": rubric})
    assert len(label) == LABEL_WIDTH
    assert label.startswith("judge: {name: tone, rubric: The answer must be polite")
    assert label.endswith("…")
    huge = {"schema": {"properties": {f"p{i}": {"type": "string"} for i in range(200_000)}}}
    assert check_label("json_schema", huge).startswith("json_schema: {schema: {properties: {p0:")
    assert len(check_label("json_schema", huge)) == LABEL_WIDTH


def test_a_failed_check_is_named_by_its_line_in_the_terminal(pytester: pytest.Pytester) -> None:
    from nightmare_helpers import AGENT_CONFTEST

    pytester.makeconftest(AGENT_CONFTEST)
    (pytester.path / "nightmare_set").mkdir()
    text = case_yaml("strict-case").replace("value: refund", "value: apology")
    write_case(pytester, "strict.yaml", text)
    result = pytester.runpytest("nightmare_set", "--opsladder-mode=record")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- contains: {path: answer, value: apology}: *'apology'*"])
