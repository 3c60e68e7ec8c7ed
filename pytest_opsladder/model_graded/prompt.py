"""The judge's request and the parsing of its verdict (ladder level 7).

The judge is asked for a JSON object ``{"score": <int>, "reason": "<one sentence>"}``. The
request is fixed by the rubric, the scale, the reference and the graded output, so the same
inputs make byte-identical requests: that is what replay matches on.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from pytest_opsladder import _json
from pytest_opsladder.model_graded.errors import JudgeReplyError
from pytest_opsladder.model_graded.spec import JudgeSpec

SYSTEM = (
    "You are an impartial grader. Grade the OUTPUT against the RUBRIC only. "
    "Answer with a JSON object and nothing else: "
    '{"score": <integer>, "reason": "<one sentence saying why>"}.'
)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str, every surrogate is a lone one


def output_text(value: Any) -> str:
    """The graded output as text: strings as they are, anything else as sorted JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def messages(spec: JudgeSpec, graded: str) -> list[dict[str, str]]:
    """The chat messages of a judge call: the instructions, then rubric, scale and output."""
    parts = [f"RUBRIC:\n{spec.rubric}", f"SCALE: {spec.scale.describe()}"]
    if spec.reference is not None:
        parts.append(f"REFERENCE ANSWER:\n{spec.reference}")
    parts.append(f"OUTPUT:\n{graded}")
    user = _sendable("\n\n".join(parts))
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _sendable(text: str) -> str:
    """``text`` with each lone surrogate (an undecodable byte, as ``os.fsdecode`` gives) written
    as its JSON escape ``\\udcXX``, as a non-string output already is: no HTTP client can
    encode it, and the same text always becomes the same request."""
    return _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def fingerprint(spec: JudgeSpec, graded: str) -> str:
    """The identity of a judge call: the same value means the same request."""
    body = {"messages": messages(spec, graded), **spec.model.identity()}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]


def parse_verdict(text: str, spec: JudgeSpec) -> tuple[int, str]:
    """``(score, reason)`` from the judge's reply, or :class:`JudgeReplyError` saying why not."""
    body = _FENCE.sub(r"\1", text.strip())
    try:
        data = _json.parse(body)
    except ValueError:
        raise JudgeReplyError(
            f"the reply is not JSON: {text[:200]!r}. Use a model that follows JSON instructions.",
            check=spec.name,
        ) from None
    if not isinstance(data, dict) or "score" not in data:
        raise JudgeReplyError(f'the reply has no "score": {text[:200]!r}.', check=spec.name)
    return _score(data["score"], spec), str(data.get("reason") or "")[:1000]


def _score(raw: Any, spec: JudgeSpec) -> int:
    if isinstance(raw, float) and not math.isfinite(raw):  # NaN, Infinity, or 1e400
        raise JudgeReplyError(
            f"not a verdict: the score {raw!r} is not a finite number; the judge must answer "
            "an integer score.",
            check=spec.name,
        )
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != int(raw):
        raise JudgeReplyError(f"score {raw!r} is not an integer.", check=spec.name)
    score = int(raw)
    low, high = (0, 1) if spec.scale.binary else (spec.scale.minimum, spec.scale.maximum or 0)
    if not low <= score <= high:
        raise JudgeReplyError(
            f"score {score} is out of range {low}..{high} for this scale.", check=spec.name
        )
    return score
