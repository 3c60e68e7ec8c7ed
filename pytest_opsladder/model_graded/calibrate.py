"""Can this judge gate? Its agreement with itself and with human reviewers (ladder level 7).

``opsladder judge calibrate`` re-asks the judge, live, every judge call recorded in the given
cassettes (``--repeats`` times) and compares each answer with the recorded one; with
``--store``, it also compares the judge's pass/fail with reviewers' verdicts from
``opsladder review`` (good = pass, bad = fail; unsure is left out). Agreement is reported as
percent agreement and Cohen's kappa (chance-corrected; 1 is perfect, 0 is chance level).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pytest_opsladder.model_graded.errors import JudgeError
from pytest_opsladder.model_graded.prompt import parse_verdict
from pytest_opsladder.model_graded.providers import call_judge
from pytest_opsladder.model_graded.scope import JUDGE
from pytest_opsladder.model_graded.spec import JudgeModel, JudgeSpec, Provider, Scale, judge_model


def cohen_kappa(first: Sequence[Any], second: Sequence[Any]) -> float:
    """Cohen's kappa of two raters over the same items (NaN with no items)."""
    n = len(first)
    if n == 0 or n != len(second):
        return math.nan
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    count_a, count_b = Counter(first), Counter(second)
    expected = sum(count_a[k] * count_b[k] for k in count_a) / (n * n)
    if expected >= 1.0:  # both raters used one category throughout
        return 1.0 if observed == 1.0 else math.nan
    return float((observed - expected) / (1.0 - expected))


def percent_agreement(first: Sequence[Any], second: Sequence[Any]) -> float:
    n = len(first)
    return sum(a == b for a, b in zip(first, second, strict=True)) / n if n else math.nan


@dataclass
class Agreement:
    """Paired ratings of one judge check against one other rater."""

    judge: str
    against: str
    first: list[Any] = field(default_factory=list)
    second: list[Any] = field(default_factory=list)
    errors: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "against": self.against,
            "n": len(self.first),
            "errors": self.errors,
            "percent_agreement": percent_agreement(self.first, self.second),
            "kappa": cohen_kappa(self.first, self.second),
        }


def recorded_judgements(paths: Iterable[Path]) -> list[tuple[str, dict[str, Any]]]:
    """``(run_id, judge event data)`` for every answered judge call in the cassettes."""
    from pytest_opsladder.cassette import files

    found = []
    for path in _cassettes(paths):
        run = files.load(path)
        for event in run.events_of(JUDGE):
            if isinstance(event.data.get("score"), int):
                found.append((run.run_id, dict(event.data)))
    return found


def _cassettes(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        out += [p for p in candidates if _is_cassette(p)]
    return out


def _is_cassette(path: Path) -> bool:
    name = path.name
    skip = (".incomplete.json", ".error.json")
    return path.is_file() and name.endswith((".json", ".yaml", ".yml")) and not name.endswith(skip)


def self_agreement(
    judgements: list[tuple[str, dict[str, Any]]], repeats: int, overrides: dict[str, Any]
) -> dict[str, Agreement]:
    """Re-ask each recorded judge call ``repeats`` times; pair every answer with the recorded."""
    table: dict[str, Agreement] = {}
    for _, data in judgements:
        name = str(data.get("name"))
        entry = table.setdefault(name, Agreement(name, f"itself x{repeats}"))
        spec = _spec_of(data, overrides)
        for _ in range(repeats):
            try:
                reply = call_judge(spec.model, data["request"]["messages"], name)
                score, _reason = parse_verdict(reply.text, spec)
            except JudgeError:
                entry.errors += 1
                continue
            entry.first.append(data["score"])
            entry.second.append(score)
    return table


def human_agreement(
    judgements: list[tuple[str, dict[str, Any]]], store: Path
) -> dict[str, Agreement]:
    """The judge's recorded pass/fail against reviewers' latest verdicts on the same runs."""
    from pytest_opsladder.store.reviews import read_reviews

    latest = {run_id: v[-1].get("verdict") for run_id, v in read_reviews(store).items() if v}
    table: dict[str, Agreement] = {}
    for run_id, data in judgements:
        human = latest.get(run_id)
        if human not in ("good", "bad"):
            continue
        name = str(data.get("name"))
        entry = table.setdefault(name, Agreement(name, "reviewers"))
        entry.first.append(bool(data.get("passed")))
        entry.second.append(human == "good")
    return table


def _spec_of(data: dict[str, Any], overrides: dict[str, Any]) -> JudgeSpec:
    identity = data.get("judge_model") or {}
    model = replace(
        judge_model(overrides.get("model") or identity.get("model")),
        provider=Provider(str(identity.get("provider", "openai"))),
        seed=int(identity.get("seed", 0)),
    )
    if overrides.get("base_url"):
        model = replace(model, base_url=str(overrides["base_url"]))
    return JudgeSpec(
        str(data.get("name")), "(recorded)", scale=_scale(data.get("scale")), model=model
    )


def _scale(raw: Any) -> Scale:
    if not isinstance(raw, dict) or raw.get("kind") == "pass_fail":
        return Scale()
    return Scale(int(raw["min"]), int(raw["max"]), int(raw["threshold"]))


__all__ = ["Agreement", "JudgeModel", "cohen_kappa", "human_agreement", "self_agreement"]
