"""Grading an output with a judge, recorded into the run and replayed from it (level 7).

Every judge call becomes a ``judge`` event of the run: the rubric hash, the judge model, the
request, the reply, the score and the reason, and the judge's own token usage (kept apart from
the agent's). Replay answers a call from the recorded event with the same request, so a replay
re-grades for free and identically; a changed rubric, judge model or graded output makes the
recorded call stale, and the error says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_opsladder.model_graded import prompt
from pytest_opsladder.model_graded.errors import (
    JudgeError,
    JudgeNotRecordedError,
    JudgeReplyError,
    JudgeUnavailableError,
)
from pytest_opsladder.model_graded.providers import Reply, call_judge
from pytest_opsladder.model_graded.scope import JUDGE, JudgeSource, answered, source_for
from pytest_opsladder.model_graded.spec import JudgeSpec

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run


@dataclass(frozen=True)
class JudgeResult:
    """A judge's verdict: the score, whether it passes the scale's threshold, and why."""

    name: str
    score: int
    passed: bool
    reason: str
    replayed: bool

    def __bool__(self) -> bool:
        return self.passed


def grade(spec: JudgeSpec, output: Any, run: Run | None) -> JudgeResult:
    """Grade ``output`` (at ``spec.path``) with the judge; the call is recorded in ``run``."""
    graded = prompt.output_text(_at(output, spec.path, spec.name))
    fingerprint = prompt.fingerprint(spec, graded)
    source = source_for(run)
    into = None if source.read_only else run
    reply: Reply | None = None
    try:
        reply, replayed = _reply(spec, graded, fingerprint, source)
        score, reason = prompt.parse_verdict(reply.text, spec)
    except JudgeError as exc:  # a reply that is not a verdict is kept: it was paid for
        _record(into, spec, fingerprint, graded, reply, error=exc)
        raise
    result = JudgeResult(spec.name, score, spec.scale.passes(score), reason, replayed)
    _record(into, spec, fingerprint, graded, reply, result=result)
    return result


def _at(output: Any, path: str | None, name: str) -> Any:
    from pytest_opsladder.nightmare.checks import value_at

    try:
        return value_at(output, path)
    except (KeyError, IndexError, TypeError):
        shown = prompt.output_text(output)[:120]
        raise JudgeError(
            f"the output has nothing at path {path!r} to grade: {shown!r}", check=name
        ) from None


def _reply(
    spec: JudgeSpec, graded: str, fingerprint: str, source: JudgeSource
) -> tuple[Reply, bool]:
    if not source.force_live:
        recorded = _recorded(source, spec.name, fingerprint)
        if recorded is not None:
            return recorded, True
    if source.live:
        source.live_calls += 1
        return call_judge(spec.model, prompt.messages(spec, graded), spec.name), False
    raise _not_recorded(spec, fingerprint, source)


def _recorded(source: JudgeSource, name: str, fingerprint: str) -> Reply | None:
    """The first unused recorded call with this request (the nth identical call gets the nth).
    A recorded failure (no reply, or one that was not a verdict) is asked again when the judge
    may be called live; in replay it gives its error again."""
    for i, data in enumerate(source.recorded):
        if i in source.used or data.get("name") != name or data.get("fingerprint") != fingerprint:
            continue
        if source.live and (not answered(data) or data.get("error")):
            continue  # a recorded failure: asked again
        source.used.add(i)
        if not answered(data):
            raise _recorded_error(data, name, source)
        response = data["response"]
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return Reply(response["text"], dict(usage or {}), response.get("model"))
    return None


def _recorded_error(data: dict[str, Any], name: str, source: JudgeSource) -> JudgeError:
    """The error a judge call was recorded with, raised again as it was (its class, its text)."""
    kind = _ERRORS.get(str(data.get("error_type")), JudgeError)
    message = str(data.get("error") or "no verdict.").removeprefix(f"judge {name!r}: ")
    fix = (
        _fix(source)
        if source.mode == "shadow"
        else "re-record it with the judge answering: pytest --opsladder-mode=record "
        "--opsladder-record-mode=new_episodes <test>"
    )
    return kind(
        f"this call failed when the run was recorded: {message} Replay gives the recorded "
        f"error; {fix}.",
        check=name,
    )


_ERRORS: dict[str, type[JudgeError]] = {
    kind.__name__: kind for kind in (JudgeError, JudgeUnavailableError, JudgeReplyError)
}


def _not_recorded(spec: JudgeSpec, fingerprint: str, source: JudgeSource) -> JudgeNotRecordedError:
    same = [d for d in source.recorded if d.get("name") == spec.name]
    if not same:
        why = "no judge call of this check is recorded in the cassette"
    else:
        why = "the recorded judge call is stale: " + _what_changed(same[-1], spec)
    return JudgeNotRecordedError(f"{why}; {_fix(source)}.", check=spec.name)


def _fix(source: JudgeSource) -> str:
    if source.mode == "shadow":
        return "run shadow with --opsladder-judge=live to grade the candidate live"
    if source.mode == "recorded":
        return "this run was recorded before the check changed or existed; re-record it"
    return "re-record it: pytest --opsladder-mode=record --opsladder-record-mode=all <test>"


def _what_changed(recorded: dict[str, Any], spec: JudgeSpec) -> str:
    changes = []
    if recorded.get("rubric_hash") != spec.rubric_hash:
        changes.append(f"the rubric changed ({recorded.get('rubric_hash')} -> {spec.rubric_hash})")
    if recorded.get("judge_model") != spec.model.identity():
        changes.append(
            f"the judge model changed ({recorded.get('judge_model')} -> {spec.model.identity()})"
        )
    if not changes:
        changes.append("the output it grades (or the scale or reference) changed")
    return ", ".join(changes)


def _record(
    run: Run | None,
    spec: JudgeSpec,
    fingerprint: str,
    graded: str,
    reply: Reply | None,
    *,
    result: JudgeResult | None = None,
    error: JudgeError | None = None,
) -> None:
    if run is None:
        return
    data: dict[str, Any] = {
        "name": spec.name,
        "metric": spec.metric,
        "rubric_hash": spec.rubric_hash,
        "judge_model": spec.model.identity(),
        "scale": spec.scale.to_dict(),
        "fingerprint": fingerprint,
        "request": {"messages": prompt.messages(spec, graded)},
    }
    if reply is not None:
        data["response"] = {"text": reply.text, "model": reply.response_model}
        data["usage"] = dict(reply.usage)
        data["duration_s"] = round(reply.duration_s, 6)
    if result is not None:
        data |= {"score": result.score, "passed": result.passed, "reason": result.reason}
        data["replayed"] = result.replayed
    if error is not None:
        data |= {"error": str(error), "error_type": type(error).__name__}
    run.emit(JUDGE, spec.name, data)
