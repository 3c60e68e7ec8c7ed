"""The demo's judge model: a small, deterministic grader behind the demo's loopback endpoint.

It is not a neural network. It reads the RUBRIC, SCALE and OUTPUT sections of the judge's
request (see :mod:`pytest_opsladder.model_graded.prompt`) and applies the rules it recognises:

- "one sentence": the output has exactly one sentence (two sentences score one below the top
  of an ordinal scale, more score the bottom);
- "at most N words": the output has at most N words;
- "mentions X" / 'mentions "X"': X appears in the output (case-insensitive).

It answers ``{"score": ..., "reason": ...}`` as JSON; the same request always gets the same
answer. Served for requests whose model starts with ``demo-judge``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pytest_opsladder.demo.model import count_tokens

_SECTION = re.compile(
    r"^(RUBRIC|SCALE|REFERENCE ANSWER|OUTPUT):\s*\n?(.*?)(?=\n\n[A-Z ]+:|\Z)",
    re.DOTALL | re.MULTILINE,
)
_RANGE = re.compile(r"from (\d+) \(worst\) to (\d+) \(best\)")
_WORDS = re.compile(r"at most (\d+) words", re.IGNORECASE)
_MENTIONS = re.compile(r"mentions \"?([^\".]+)\"?", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


def _sections(text: str) -> dict[str, str]:
    return {name: body.strip() for name, body in _SECTION.findall(text)}


def _sentences(text: str) -> int:
    return max(1, len(_SENTENCE_END.findall(text.strip()))) if text.strip() else 0


def grade(prompt: str) -> dict[str, Any]:
    """``{"score", "reason"}`` for a judge request's user message."""
    parts = _sections(prompt)
    rubric, output = parts.get("RUBRIC", ""), parts.get("OUTPUT", "")
    found = _RANGE.search(parts.get("SCALE", ""))
    low, high = (int(found.group(1)), int(found.group(2))) if found else (0, 1)
    misses = _misses(rubric, output)
    if not misses:
        return {"score": high, "reason": "The output meets every point of the rubric."}
    score = high - 1 if (found and misses == ["two sentences"]) else low
    return {"score": score, "reason": "The output misses the rubric: " + "; ".join(misses) + "."}


def _misses(rubric: str, output: str) -> list[str]:
    misses = []
    if "one sentence" in rubric.lower():
        n = _sentences(output)
        if n != 1:
            misses.append("two sentences" if n == 2 else f"{n} sentences, not one")
    limit = _WORDS.search(rubric)
    if limit and len(output.split()) > int(limit.group(1)):
        misses.append(f"{len(output.split())} words, over {limit.group(1)}")
    for wanted in _MENTIONS.findall(rubric):
        if wanted.strip().lower() not in output.lower():
            misses.append(f"it does not mention {wanted.strip()!r}")
    return misses


def judge_completion(body: dict[str, Any], created: int, suffix: str) -> dict[str, Any]:
    """The chat.completion a judge request gets: the verdict as JSON content."""
    user = "\n".join(
        str(m.get("content") or "") for m in body.get("messages") or [] if m.get("role") == "user"
    )
    content = json.dumps(grade(user), sort_keys=True)
    prompt_tokens, completion_tokens = count_tokens(user), count_tokens(content)
    return {
        "id": "chatcmpl-judge-" + hashlib.sha256(user.encode()).hexdigest()[:20],
        "object": "chat.completion",
        "created": created,
        "model": f"{body.get('model', 'demo-judge')}{suffix}",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
