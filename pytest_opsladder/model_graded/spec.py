"""What a judge check is: a rubric, the output it grades, a scale and the judge model (level 7).

In a case file::

    checks:
      - judge:
          name: one-sentence-summary          # the metric is judge:one-sentence-summary
          rubric: "The summary states the post's main point in one sentence."
          path: summary                       # a dotted path into the output (default: all)
          scale: {min: 1, max: 5, threshold: 4}   # or "pass_fail" (the default)
          reference: "optional reference answer"
          model: {model: gpt-4.1-mini, provider: openai, base_url: ..., seed: 0}

``rubric_file: rubrics/summary.md`` reads the rubric from a file instead (relative to the
working directory). The judge model's defaults come from :func:`configure_judge` (a conftest
can set the base URL of a loopback judge), then ``OPSLADDER_JUDGE_MODEL`` /
``OPSLADDER_JUDGE_BASE_URL``; temperature is always 0.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_opsladder.choices import parse_choice
from pytest_opsladder.model_graded.errors import JudgeConfigError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SPEC_KEYS = {"name", "rubric", "rubric_file", "path", "scale", "reference", "model"}
_MODEL_KEYS = {"model", "provider", "base_url", "seed", "api_key_env", "max_tokens"}


class Provider(StrEnum):
    """Which SDK the judge is called through: any OpenAI-compatible server, or Anthropic."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"


@dataclass(frozen=True)
class JudgeModel:
    """The judge model: like a Variant, but always at temperature 0 with a fixed seed."""

    model: str = "gpt-4.1-mini"
    provider: Provider = Provider.OPENAI
    base_url: str | None = None  # not part of a call's identity: loopback ports change
    seed: int = 0
    api_key_env: str | None = None
    max_tokens: int = 300

    def identity(self) -> dict[str, Any]:
        """What makes two judge calls the same call (recorded and replayed by this)."""
        return {"model": self.model, "provider": self.provider.value, "seed": self.seed}


_DEFAULTS: dict[str, Any] = {}


def configure_judge(**defaults: Any) -> None:
    """Set session-wide defaults of the judge model (``model``, ``base_url``, ``provider``,
    ``seed``, ``api_key_env``); a check's own ``model:`` settings win over them."""
    unknown = set(defaults) - _MODEL_KEYS
    if unknown:
        raise JudgeConfigError(
            f"unknown judge model setting(s) {sorted(unknown)}; valid: {sorted(_MODEL_KEYS)}."
        )
    _DEFAULTS.update(defaults)


def judge_model(raw: Any = None, *, check: str | None = None) -> JudgeModel:
    """The judge model of a check: its own settings over the configured defaults."""
    settings: dict[str, Any] = {}
    if os.environ.get("OPSLADDER_JUDGE_MODEL"):
        settings["model"] = os.environ["OPSLADDER_JUDGE_MODEL"]
    if os.environ.get("OPSLADDER_JUDGE_BASE_URL"):
        settings["base_url"] = os.environ["OPSLADDER_JUDGE_BASE_URL"]
    settings |= _DEFAULTS
    settings |= _model_settings(raw, check)
    return _build_model(settings, check)


def _model_settings(raw: Any, check: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, JudgeModel):
        return {k: getattr(raw, k) for k in _MODEL_KEYS}
    if isinstance(raw, str):
        return {"model": raw}
    if not isinstance(raw, dict) or set(raw) - _MODEL_KEYS:
        raise JudgeConfigError(
            f"model must be a model name or a mapping of {sorted(_MODEL_KEYS)}, got {raw!r}.",
            check=check,
        )
    return dict(raw)


def _build_model(settings: dict[str, Any], check: str | None) -> JudgeModel:
    provider = str(settings.get("provider", Provider.OPENAI.value))
    parse_choice(Provider, provider, setting="provider", error=JudgeConfigError, check=check)
    try:
        return replace(
            JudgeModel(),
            **{k: v for k, v in settings.items() if k != "provider"},
            provider=Provider(provider),
            seed=int(settings.get("seed", 0)),
        )
    except (TypeError, ValueError) as exc:
        raise JudgeConfigError(
            f"invalid judge model settings {settings!r}: {exc}.", check=check
        ) from None


@dataclass(frozen=True)
class Scale:
    """pass/fail (``maximum`` None), or an ordinal scale ``minimum..maximum`` with the lowest
    passing score ``threshold``."""

    minimum: int = 0
    maximum: int | None = None
    threshold: int | None = None

    @property
    def binary(self) -> bool:
        return self.maximum is None

    def passes(self, score: int) -> bool:
        return bool(score) if self.binary else score >= (self.threshold or 0)

    def describe(self) -> str:
        if self.binary:
            return 'score 1 if the output meets the rubric, else 0 ("score": 1 or 0)'
        return f"an integer score from {self.minimum} (worst) to {self.maximum} (best)"

    def to_dict(self) -> dict[str, Any]:
        if self.binary:
            return {"kind": "pass_fail"}
        return {"min": self.minimum, "max": self.maximum, "threshold": self.threshold}


def parse_scale(raw: Any, *, check: str | None = None) -> Scale:
    """``"pass_fail"`` (the default) or ``{min, max, threshold}`` / ``"1-5"`` with a threshold."""
    if raw is None or raw == "pass_fail":
        return Scale()
    if isinstance(raw, str) and re.fullmatch(r"\d+-\d+", raw):
        raise JudgeConfigError(
            f"scale {raw!r} has no pass threshold; write scale: {{min: {raw.split('-')[0]}, "
            f"max: {raw.split('-')[1]}, threshold: N}}.",
            check=check,
        )
    if not isinstance(raw, dict):
        raise JudgeConfigError(
            f'scale must be "pass_fail" or {{min, max, threshold}}, got {raw!r}.', check=check
        )
    return _ordinal(raw, check)


def _ordinal(raw: dict[str, Any], check: str | None) -> Scale:
    if "threshold" not in raw:
        raise JudgeConfigError(
            f"scale {raw!r} has no threshold: say which score passes (threshold: N).", check=check
        )
    try:
        low, high, threshold = int(raw.get("min", 1)), int(raw["max"]), int(raw["threshold"])
    except (KeyError, TypeError, ValueError):
        raise JudgeConfigError(
            f"scale {raw!r} needs integer min, max and threshold.", check=check
        ) from None
    if not low < high or not low <= threshold <= high:
        raise JudgeConfigError(
            f"scale {raw!r}: need min < max and min <= threshold <= max.", check=check
        )
    return Scale(low, high, threshold)


@dataclass(frozen=True)
class JudgeSpec:
    """One judge check: what it grades, against which rubric, on which scale, with which model."""

    name: str
    rubric: str
    path: str | None = None
    scale: Scale = field(default_factory=Scale)
    reference: str | None = None
    model: JudgeModel = field(default_factory=JudgeModel)

    @property
    def rubric_hash(self) -> str:
        return hashlib.sha256(self.rubric.encode()).hexdigest()[:16]

    @property
    def metric(self) -> str:
        return f"judge:{self.name}"


def parse_spec(args: dict[str, Any], *, resolve_model: bool = True) -> JudgeSpec:
    """A judge check's arguments from a case file (or the judge() function) as a spec."""
    label = str(args.get("name") or "judge")
    unknown = set(args) - _SPEC_KEYS
    if unknown:
        raise JudgeConfigError(
            f"unknown key(s) {sorted(unknown)}; valid: {sorted(_SPEC_KEYS)}.", check=label
        )
    rubric = _rubric(args, label)
    name = str(args.get("name") or f"rubric-{hashlib.sha256(rubric.encode()).hexdigest()[:8]}")
    if not _NAME.match(name):
        raise JudgeConfigError(
            "name must be 1-64 letters, digits, '.', '-' or '_' (it names the metric).", check=name
        )
    reference = args.get("reference")
    return JudgeSpec(
        name=name,
        rubric=rubric,
        path=str(args["path"]) if args.get("path") not in (None, "") else None,
        scale=parse_scale(args.get("scale"), check=name),
        reference=str(reference) if reference is not None else None,
        model=judge_model(args.get("model"), check=name) if resolve_model else JudgeModel(),
    )


def _rubric(args: dict[str, Any], label: str) -> str:
    text: Any
    if args.get("rubric_file"):
        path = Path(str(args["rubric_file"]))
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise JudgeConfigError(
                f"rubric_file {str(path)!r} cannot be read ({exc.__class__.__name__}: {exc}); "
                "give a path relative to the directory pytest runs in, or write rubric: inline.",
                check=label,
            ) from None
    else:
        text = args.get("rubric")
    if not isinstance(text, str) or not text.strip():
        where = (
            f"rubric_file {args['rubric_file']!r} is empty"
            if args.get("rubric_file")
            else "rubric is missing or empty"
        )
        raise JudgeConfigError(
            f'{where}: write what a good output does, e.g. rubric: "The summary states the '
            "post's main point in one sentence.\"",
            check=label,
        )
    return text.strip()
