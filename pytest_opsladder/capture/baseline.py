"""Never lose a good baseline: when a newly recorded run may replace a cassette (level 0).

A cassette that holds a ``complete`` run is a baseline every later replay depends on. A record
run that ended in ``error`` (the model was unreachable, the agent crashed), whose HTTP
requests all failed (the agent caught the errors and answered anyway), or whose test failed,
errored or was skipped where the baseline's test passed, is worse evidence than the baseline:
it is written beside it as ``<name>.error.json`` instead, and the summary counts it.
A run that recorded a transport failure (see :mod:`pytest_opsladder.http.failures`) for a
request the baseline got an answer to is worse too, even when the agent coped (a fallback);
so is one whose response was cut mid-body (stored partial, with its error) where the
baseline's came whole.
``--opsladder-record-mode=rewrite`` is judged alike: a rewrite made while the model was
unreachable is no evidence that the agent no longer needs it, so no mode can tell a
deliberate change from a loss. To keep a run judged
worse anyway, move its ``.error.json`` over the cassette: an explicit act on one file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_opsladder.exceptions import CassetteError

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run


def keeps_baseline(run: Run, path: Path) -> bool:
    """Whether the cassette at ``path`` is a good baseline that ``run`` must not replace."""
    if not path.exists():
        return False
    if failed(run):
        return _previous(path) is not None
    previous = _previous(path)
    if previous is None:
        return False
    if _test_did_worse(run, previous):
        return True
    # reached no server at all, where the baseline did
    if not _answered(run.http) and _answered(previous.get("http") or []):
        return True
    return _newly_unreachable(run.http, previous.get("http") or [])


def _newly_unreachable(http: list[Any], previous: list[Any]) -> bool:
    """A request failed at the transport (refused, timed out ...) where the baseline got an
    answer to it: the run may have coped (a fallback, a retry), but it recorded a path taken
    because a server was down, which is no reason to drop the path recorded while it was up."""
    answered = {_target(item) for item in previous if _answered([item])}
    return any(_target(item) in answered for item in http if _transport_failed(item))


def _target(item: Any) -> tuple[str, str]:
    request = item.get("request") if isinstance(item, dict) else None
    if not isinstance(request, dict):
        return ("", "")
    return (str(request.get("method", "")).upper(), str(request.get("url", "")))


def _transport_failed(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("error"), dict)


def _test_did_worse(run: Run, previous: dict[str, Any]) -> bool:
    """The run's test failed, errored or was skipped where the baseline's test passed (a run
    recorded outside pytest has no test outcome, and is never judged by one)."""
    now = recorded_test_outcome(run.extra)
    return now not in (None, "passed") and recorded_test_outcome(previous.get("extra")) == "passed"


def recorded_test_outcome(extra: Any) -> str | None:
    """What the user's test said about a run (``passed``, ``failed``, ``error``, ``skipped``),
    from its ``extra``; None for a run recorded outside pytest."""
    recorded = extra.get("test_outcome") if isinstance(extra, dict) else None
    outcome = recorded.get("outcome") if isinstance(recorded, dict) else None
    return outcome if isinstance(outcome, str) else None


def failed(run: Run) -> bool:
    """The run ended in error, or every request it sent (HTTP, model calls) failed."""
    if run.status.value == "error":
        return True
    return _all_requests_failed(run)


def _answered(http: list[Any]) -> bool:
    """Some recorded interaction got a whole, non-error answer (a body cut mid-way is none)."""
    for item in http:
        if not isinstance(item, dict) or _transport_failed(item):
            continue
        response = item.get("response")
        status = response.get("status") if isinstance(response, dict) else None
        if isinstance(status, int) and status < 400:
            return True
    return False


def _all_requests_failed(run: Run) -> bool:
    requests = [e.data for e in run.events if e.kind == "http"]
    llm_errors = [e for e in run.events if e.kind == "llm_call" and e.data.get("error")]
    if llm_errors and len(llm_errors) == len([e for e in run.events if e.kind == "llm_call"]):
        return True
    return bool(requests) and all(_request_failed(d) for d in requests)


def _request_failed(data: dict[str, Any]) -> bool:
    status = data.get("status")
    return bool(data.get("error")) or not isinstance(status, int) or status >= 400


def _previous(path: Path) -> dict[str, Any] | None:
    """The run of the ``complete`` cassette at ``path``, or None (no good baseline there)."""
    from pytest_opsladder.cassette.files import load_envelope

    try:
        run = load_envelope(path)["run"]
    except CassetteError:
        return None  # a damaged cassette is no baseline: replacing it loses nothing
    return run if isinstance(run, dict) and run.get("status") == "complete" else None
