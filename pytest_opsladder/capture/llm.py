"""Recording a language-model call in the run (ladder levels 0 and 3).

``llm_call(...)`` emits an ``llm_call`` event with the request and response model and the token
usage, and fills the manifest's ``request_model`` / ``response_model`` on the first call.
"""

from __future__ import annotations

from typing import Any

from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.run import _CURRENT


def llm_call(
    request_model: str,
    response_model: str | None,
    usage: dict[str, Any] | None,
    *,
    t_start: float | None = None,
    operation: str = "chat",
    finish_reason: str | None = None,
) -> None:
    run = _CURRENT.get()
    if run is None:
        return
    run.emit(
        ev.LLM_CALL,
        request_model,
        {
            "operation": operation,
            "request_model": request_model,
            "response_model": response_model,
            "usage": dict(usage or {}),
            "finish_reason": finish_reason,
        },
        t_start=t_start,
    )
    run.manifest["request_model"] = run.manifest.get("request_model") or request_model
    run.manifest["response_model"] = run.manifest.get("response_model") or response_model
