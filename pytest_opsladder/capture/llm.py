"""Language-model calls in the run (ladder levels 0 and 3).

Most agents reach their model over HTTP through an SDK; those calls are **derived** from the
run's recorded HTTP interactions (see :mod:`pytest_opsladder.http.llm_providers`) whenever the
run ends or its cassette is loaded, so old cassettes get them too and nothing needs to be
called by hand. :func:`llm_call` is the public API for models the HTTP recorder cannot see (a
local model, a gRPC service); a manual call that describes an HTTP call already derived (the
same model, overlapping in time) is dropped, so nothing is counted twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.run import _CURRENT

if TYPE_CHECKING:
    from pytest_opsladder.capture.events import Event
    from pytest_opsladder.capture.run import Run

SOURCE_HTTP = "http"
SOURCE_MANUAL = "manual"


def llm_call(
    request_model: str,
    response_model: str | None = None,
    usage: dict[str, Any] | None = None,
    *,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    t_start: float | None = None,
    operation: str = "chat",
    finish_reason: str | None = None,
) -> None:
    """Record a call to a model the HTTP recorder does not see; a no-op outside a run.

    ``usage`` is the provider's usage dict (``prompt_tokens`` / ``completion_tokens`` or
    ``input_tokens`` / ``output_tokens``), or pass ``input_tokens`` and ``output_tokens``.
    Leave the tokens out when they are unknown: the run's token metrics are then missing,
    not zero. ``t_start`` (``run.now()`` before the call) makes the event span the call.
    """
    run = _CURRENT.get()
    if run is None:
        return
    from pytest_opsladder.http.llm_providers import usage_of

    raw = dict(usage or {})
    tokens_in = _first(raw, "input_tokens", "prompt_tokens", given=input_tokens)
    tokens_out = _first(raw, "output_tokens", "completion_tokens", given=output_tokens)
    data: dict[str, Any] = {
        "source": SOURCE_MANUAL,
        "operation": operation,
        "request_model": request_model,
        "response_model": response_model,
        "model": response_model or request_model,
        "usage": {**raw, **usage_of(tokens_in, tokens_out)},
        "finish_reason": finish_reason,
    }
    run.emit(ev.LLM_CALL, request_model, data, t_start=t_start)
    _note_models(run, request_model, response_model)


def _first(raw: dict[str, Any], *keys: str, given: int | None) -> int | None:
    if given is not None:
        return given
    for key in keys:
        if isinstance(raw.get(key), int | float):
            return int(raw[key])
    return None


def _note_models(run: Run, request_model: str | None, response_model: str | None) -> None:
    run.manifest["request_model"] = run.manifest.get("request_model") or request_model
    run.manifest["response_model"] = run.manifest.get("response_model") or response_model


# -- derived from HTTP ---------------------------------------------------------------------------
def is_derived(event: Event) -> bool:
    return event.kind == ev.LLM_CALL and event.data.get("source") == SOURCE_HTTP


def derived_llm_calls(run: Run) -> list[tuple[float, float, dict[str, Any]]]:
    """(t_start, t_end, data) of every LLM API call in the run's HTTP traffic, in order."""
    out: list[tuple[float, float, dict[str, Any]]] = []
    seen: set[int] = set()
    read = _cached_reader(run)
    for event in run.events:
        if event.kind != ev.HTTP:
            continue
        data = _derived_for(event, run.http, read, seen)
        if data is not None:
            end = event.t_start + (data.get("duration_s") or event.duration)
            out.append((event.t_start, max(end, event.t_end), data))
    for index, item in enumerate(run.http):  # interactions no event points at (hand-made files)
        if index not in seen and (data := read(item, index)) is not None:
            out.append((0.0, float(data.get("duration_s") or 0.0), data))
    return out


def _cached_reader(run: Run) -> Any:
    """llm_call_of, remembered per interaction object for the run's life: metrics are
    computed more than once as a run ends, and an interaction never changes once stored."""
    from pytest_opsladder.http.llm_providers import llm_call_of

    cache: dict[int, tuple[Any, Any]] = run.__dict__.setdefault("_llm_cache", {})

    def read(item: dict[str, Any], index: int) -> Any:
        hit = cache.get(id(item))
        if hit is None or hit[0] is not item:
            data = llm_call_of(item)
            hit = cache[id(item)] = (item, None if data is None else {**data, "http_index": index})
        return hit[1]

    return read


def _derived_for(
    event: Event, http: list[dict[str, Any]], read: Any, seen: set[int]
) -> dict[str, Any] | None:
    index = event.data.get("index")
    if isinstance(index, int) and 0 <= index < len(http) and index not in seen:
        seen.add(index)
        return read(http[index], index)  # type: ignore[no-any-return]
    live = event.data.get("llm")  # a live call that was not stored: read when it happened
    return dict(live) if isinstance(live, dict) else None


def sync_llm_events(run: Run) -> None:
    """Replace the run's derived ``llm_call`` events with ones read from its HTTP now.

    Idempotent; called before metrics are computed (when a run ends, when a cassette loads).
    """
    derived = derived_llm_calls(run)
    current = [e.data for e in run.events if is_derived(e)]
    if len(current) == len(derived) and all(
        a is b for a, (_, _, b) in zip(current, derived, strict=True)
    ):
        return  # unchanged since the last call (the cached reads are the same objects)
    kept = [e for e in run.events if not is_derived(e)]
    if derived:
        kept = [e for e in kept if not _duplicate(e, derived)]
    if len(kept) == len(run.events) and not derived:
        return
    from pytest_opsladder.capture.events import Event

    seq = max((e.seq for e in kept), default=-1) + 1
    new = [Event(seq + i, ev.LLM_CALL, str(d.get("model") or ""), t0, t1, d)
           for i, (t0, t1, d) in enumerate(derived)]  # fmt: skip
    run.events = kept + new
    for _, _, data in derived[:1]:
        _note_models(run, data.get("request_model"), data.get("response_model"))


def _duplicate(event: Event, derived: list[tuple[float, float, dict[str, Any]]]) -> bool:
    """A manual call of the same model overlapping a derived call describes that HTTP call."""
    if event.kind != ev.LLM_CALL or event.data.get("source") == SOURCE_HTTP:
        return False
    model = event.data.get("request_model") or event.name
    return any(
        d.get("request_model") == model and event.t_start <= t1 and t0 <= event.t_end
        for t0, t1, d in derived
    )


def live_llm_summary(item: dict[str, Any]) -> dict[str, Any] | None:
    """The ``llm_call`` data of an interaction that goes out live and is not stored (shadow
    without a candidate cassette): kept on its ``http`` event, as nothing else will remain."""
    from pytest_opsladder.http.llm_providers import llm_call_of

    try:
        return llm_call_of(item)
    except Exception:  # never let reading break the agent's request
        return None
