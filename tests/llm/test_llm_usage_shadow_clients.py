"""Shadow's live model calls count their usage over every HTTP client, not only httpx.

A candidate's calls go out live and are not stored (no candidate cassette); over httpx each
kept its LLM summary on its http event, but over vcrpy's stubs (requests, urllib3, aiohttp)
it was dropped, so a candidate reaching its model over requests counted 0 tokens and 0 cost.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Imported here, not first inside an inline session: pytester drops what a session imported,
# and the next session's copy would not be the one vcrpy's patchers (built once per process)
# patch (tests/conftest.py does the same for httpx).
import aiohttp  # noqa: F401
import pytest
import requests  # noqa: F401
from user_projects import PRICED_PYPROJECT, SHADOW_WIRING, ask_cases, write_project

CONFTEST = (
    """
import asyncio, os, queue, threading
import aiohttp, requests
import pytest
from pytest_opsladder import Variant

JOBS = queue.Queue()

def serve_jobs():
    while True:
        call, done = JOBS.get()
        done.put(call())

threading.Thread(target=serve_jobs, daemon=True).start()  # at import, outside every run

def body(variant, q):
    return {"model": variant.model, "messages": [{"role": "user", "content": q}]}

def make_agent(variant):
    url = os.environ["WIRE_URL"] + "/v1/chat/completions"
    def over_requests(case_input):
        reply = requests.post(url, json=body(variant, case_input["q"]), timeout=30).json()
        return reply["choices"][0]["message"]["content"]
    def over_aiohttp(case_input):
        async def go():
            async with aiohttp.ClientSession() as session:
                async with session.post(url, json=body(variant, case_input["q"])) as resp:
                    reply = await resp.json()
            return reply["choices"][0]["message"]["content"]
        return asyncio.run(go())
    def from_a_thread(case_input):  # a worker started before any run: no run reaches it
        done = queue.Queue()
        JOBS.put((lambda: over_requests(case_input), done))
        return done.get(timeout=30)
    return {"requests": over_requests, "aiohttp": over_aiohttp,
            "thread": from_a_thread}[os.environ["CLIENT"]]
"""
    + SHADOW_WIRING
)

PYPROJECT = PRICED_PYPROJECT


def _project(pytester: pytest.Pytester, cases: int = 3) -> None:
    write_project(pytester, CONFTEST, PYPROJECT, ask_cases(cases))
    pytester.runpytest("nightmare_set", "--opsladder-mode=record").assert_outcomes(passed=cases)


def _shadow(pytester: pytest.Pytester, *args: str) -> dict[str, Any]:
    result = pytester.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=next", *args
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    return json.loads((pytester.path / "reports" / "results.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("client", ["requests", "aiohttp"])
def test_a_live_candidate_call_over_vcrpys_stubs_counts_its_tokens_and_cost(
    pytester: pytest.Pytester, wire, monkeypatch: pytest.MonkeyPatch, client: str
) -> None:
    monkeypatch.setenv("WIRE_URL", wire.url)
    monkeypatch.setenv("CLIENT", client)
    _project(pytester)
    doc = _shadow(pytester)
    for case in doc["cases"]:
        for side in ("baseline", "candidate"):
            run = case[side]["runs"][0]
            metrics = run["metrics"]
            assert run["output_text"] == f"answer:q{case['case_id'][-1]}"
            assert (metrics["llm_calls"], metrics["tokens_in"], metrics["tokens_out"]) == (1, 12, 3)
            assert metrics["cost"] == pytest.approx((12 * 1.0 + 3 * 4.0) / 1e6)


def test_a_model_call_the_run_could_not_see_leaves_tokens_and_cost_missing_not_zero(
    pytester: pytest.Pytester, wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRE_URL", wire.url)
    monkeypatch.setenv("CLIENT", "requests")
    _project(pytester)
    monkeypatch.setenv("CLIENT", "thread")  # the candidate's calls go through a shared worker
    doc = _shadow(pytester)
    for case in doc["cases"]:
        run = case["candidate"]["runs"][0]
        metrics = run["metrics"]
        assert run["output_text"] == f"answer:q{case['case_id'][-1]}"  # the model did answer
        for name in ("llm_calls", "tokens_in", "tokens_out", "cost"):
            assert metrics[name] is None or math.isnan(metrics[name]), (name, metrics[name])
        assert case["baseline"]["runs"][0]["metrics"]["tokens_in"] == 12


def test_concurrent_candidates_over_requests_each_count_their_call(
    pytester: pytest.Pytester, wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vcrpy opened each real connection with the real classes back for the whole process: a
    candidate whose request went out meanwhile, from the other thread, was not intercepted, and
    about one in four at concurrency 2 counted no call (tokens and cost missing)."""
    monkeypatch.setenv("WIRE_URL", wire.url)
    monkeypatch.setenv("CLIENT", "requests")
    _project(pytester, cases=24)
    doc = _shadow(pytester, "--opsladder-concurrency=2")
    lost = []
    for case in doc["cases"]:
        run = case["candidate"]["runs"][0]
        metrics = run["metrics"]
        assert run["output_text"] == case["case_id"].replace("case-", "answer:q")
        if (metrics["llm_calls"], metrics["tokens_in"], metrics["tokens_out"]) != (1, 12, 3):
            lost.append(case["case_id"])
    assert lost == []
