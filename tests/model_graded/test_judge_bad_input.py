"""Bad judge checks are named errors at collection; bad replies never pass (ladder level 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_opsladder import judge
from pytest_opsladder.model_graded import (
    JudgeConfigError,
    JudgeReplyError,
    JudgeUnavailableError,
)
from pytest_opsladder.model_graded.prompt import parse_verdict
from pytest_opsladder.model_graded.spec import parse_spec


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("{name: s}", "*judge check 's': rubric is missing or empty*"),
        ("{name: s, rubric: '  '}", "*rubric is missing or empty*"),
        ("{name: s, rubric_file: missing.md}", "*rubric_file 'missing.md' cannot be read*"),
        ("{name: s, rubric: r, scale: 1-5}", "*scale '1-5' has no pass threshold*threshold: N*"),
        ("{name: s, rubric: r, scale: {min: 1, max: 5}}", "*has no threshold*"),
        ("{name: s, rubric: r, scale: {min: 1, max: 5, threshold: 7}}", "*min <= threshold*"),
        ("{name: s, rubric: r, colour: red}", "*unknown key(s)*colour*"),
        ("{name: s, rubric: r, model: {provider: cohere}}", "*'cohere' is not a valid provider*"),
    ],
)
def test_a_malformed_judge_check_is_a_collection_error_naming_the_file(
    pytester: pytest.Pytester, check: str, message: str
) -> None:
    pytester.makeconftest(
        "import pytest\n@pytest.fixture\ndef opsladder_agent():\n"
        "    return lambda i: {'summary': 'x.'}\n"
    )
    (pytester.path / "nightmare_set").mkdir()
    (pytester.path / "nightmare_set/bad.yaml").write_text(
        f"id: bad\ninput: {{}}\nchecks:\n  - judge: {check}\n"
    )
    result = pytester.runpytest("nightmare_set", "-p", "no:randomly")
    assert result.ret in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.TESTS_FAILED)
    result.stdout.fnmatch_lines(["*bad.yaml*", message])


def test_an_empty_rubric_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("empty.md").write_text("\n")
    with pytest.raises(JudgeConfigError, match=r"rubric_file 'empty\.md' is empty"):
        parse_spec({"name": "x", "rubric_file": "empty.md"})


def test_a_rubric_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("rubric.md").write_text("The reply is polite.\n")
    assert parse_spec({"name": "x", "rubric_file": "rubric.md"}).rubric == "The reply is polite."


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"score": 4, "reason": "ok"}', (4, "ok")),
        ('```json\n{"score": 5, "reason": "fine"}\n```', (5, "fine")),
        ('{"score": 3.0}', (3, "")),
    ],
)
def test_verdicts_are_parsed_from_json_and_fenced_json(
    reply: str, expected: tuple[int, str]
) -> None:
    spec = parse_spec({"name": "x", "rubric": "r", "scale": {"min": 1, "max": 5, "threshold": 4}})
    assert parse_verdict(reply, spec) == expected


@pytest.mark.parametrize(
    "reply",
    [
        '{"score": true}',
        '{"score": "4"}',
        '{"score": 2.5}',
        "[4]",
        '{"score": 0}',
        '{"score": NaN}',
        '{"score": 1e400}',
        '{"score": -Infinity}',
    ],
)
def test_a_score_that_is_not_an_integer_in_range_is_a_reply_error(reply: str) -> None:
    spec = parse_spec({"name": "x", "rubric": "r", "scale": {"min": 1, "max": 5, "threshold": 4}})
    with pytest.raises(JudgeReplyError):
        parse_verdict(reply, spec)


def test_judge_outside_any_run_grades_live_and_records_nothing(judge_server: object) -> None:
    url = judge_server.url  # type: ignore[attr-defined]
    verdict = judge(
        "One point.",
        "It is one sentence.",
        name="x",
        model={"model": "demo-judge-1", "base_url": url},
    )
    assert verdict.passed
    assert verdict.score == 1
    assert not verdict.replayed


def test_judge_through_the_anthropic_provider(judge_server: object) -> None:
    url = str(judge_server.url).removesuffix("/v1")  # type: ignore[attr-defined]
    model = {"model": "claude-judge", "provider": "anthropic", "base_url": url}
    verdict = judge("One. Two.", "It is one sentence.", name="x", model=model)
    assert (verdict.score, verdict.passed) == (0, False)
    assert "2 sentences" in verdict.reason or "two sentences" in verdict.reason


def test_a_judge_server_that_is_down_raises_a_named_error() -> None:
    with pytest.raises(JudgeUnavailableError, match=r"did not answer.*Start the judge server"):
        judge("x", "r", name="x", model={"model": "m", "base_url": "http://127.0.0.1:9/v1"})
