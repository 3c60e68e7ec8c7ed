"""An agent that calls its model from threads it starts has its usage counted and its traffic
in its own cassette: a plain ``threading.Thread``, a ``ThreadPoolExecutor`` made per call, and
one made at the first call and shared by every later run.

A plain thread did not carry the run's context (Python 3.11): its calls were in no run, so the
cassette held none of them, tokens and cost were missing (NaN), and replay, with nothing to
answer from, went out to the network (offline: the case failed). The shared pool's worker
threads, started by a submit inside one run, must not carry that run to work submitted from
other runs running at the same time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from user_projects import PRICED_PYPROJECT, SHADOW_WIRING, ask_case, write_project
from wire_server import WireServer

from pytest_opsladder.cassette import files
from pytest_opsladder.http.vcr_format import stored_request_body

CONFTEST = (
    """
import os, threading
from concurrent.futures import ThreadPoolExecutor
import pytest
from openai import OpenAI
from pytest_opsladder import Variant

def ask(variant, q):
    with OpenAI(base_url=os.environ["WIRE_URL"] + "/v1", api_key="sk-test",
                max_retries=0) as client:
        reply = client.chat.completions.create(
            model=variant.model, messages=[{"role": "user", "content": q}])
    return reply.choices[0].message.content

def in_threads(variant, qs):
    out = {}
    def call(q):
        out[q] = ask(variant, q)
    threads = [threading.Thread(target=call, args=(q,)) for q in qs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [out[q] for q in qs]

def in_a_pool(variant, qs):
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda q: ask(variant, q), qs))

SHARED, SHARED_LOCK = [], threading.Lock()

def in_a_shared_pool(variant, qs):  # made by the first run that needs it, used by all
    with SHARED_LOCK:
        if not SHARED:
            SHARED.append(ThreadPoolExecutor(2))
    return list(SHARED[0].map(lambda q: ask(variant, q), qs))

STYLES = {"thread": in_threads, "pool": in_a_pool, "shared": in_a_shared_pool}

def make_agent(variant):
    def agent(case_input):
        qs = [f"{case_input['q']}-{n}" for n in range(2)]
        return " ".join(STYLES[case_input["style"]](variant, qs))
    return agent
"""
    + SHADOW_WIRING
)

STYLES = ("thread", "pool", "shared")
CASES = 9  # three of each style
# two calls a run, 12 tokens in and 3 out each, priced 1 and 4 per million
USAGE = (2, 24, 6, (24 * 1.0 + 6 * 4.0) / 1e6)


def _project(pytester: pytest.Pytester) -> None:
    inputs = [f"{{q: q{i}, style: {STYLES[i % len(STYLES)]}}}" for i in range(CASES)]
    cases = [(f"case-{i}", ask_case(f"case-{i}", text)) for i, text in enumerate(inputs)]
    write_project(pytester, CONFTEST, PRICED_PYPROJECT, cases)


def _asked(path: Path) -> list[str]:
    """The questions of the model calls stored in a cassette."""
    run = files.load(path)
    bodies = [json.loads(stored_request_body(item["request"])) for item in run.http]
    return sorted(body["messages"][0]["content"] for body in bodies)


def _usage(metrics: dict[str, Any]) -> tuple[Any, ...]:
    names = ("llm_calls", "tokens_in", "tokens_out", "cost")
    return tuple(metrics[name] for name in names)


def _check_cassettes(root: Path) -> None:
    for i in range(CASES):
        path = root / "nightmare_set" / "cassettes" / f"case-{i}" / "prod.json"
        assert _asked(path) == [f"q{i}-0", f"q{i}-1"], f"case-{i}"
        metrics = files.load(path).metrics  # the price table is applied when results are read
        assert _usage({**metrics, "cost": USAGE[3]}) == pytest.approx(USAGE), f"case-{i}"


def _check_shadow(pytester: pytest.Pytester, *args: str) -> None:
    result = pytester.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=next", *args
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    doc = json.loads((pytester.path / "reports" / "results.json").read_text())
    assert len(doc["cases"]) == CASES
    for case in doc["cases"]:
        q = case["case_id"].replace("case-", "q")
        for side in ("baseline", "candidate"):
            run = case[side]["runs"][0]
            assert run["output_text"] == f"answer:{q}-0 answer:{q}-1", (args, side)
            assert _usage(run["metrics"]) == pytest.approx(USAGE), (args, case["case_id"], side)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_model_calls_from_the_agents_threads_are_recorded_replayed_and_counted(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    _project(pytester)
    with WireServer() as server:
        monkeypatch.setenv("WIRE_URL", server.url)
        result = pytester.runpytest("nightmare_set", "--opsladder-mode=record", *xdist)
        result.assert_outcomes(passed=CASES)
    _check_cassettes(pytester.path)

    # offline: the server is gone, every answer comes from the cassettes
    pytester.runpytest("nightmare_set", *xdist).assert_outcomes(passed=CASES)

    with WireServer() as server:
        monkeypatch.setenv("WIRE_URL", server.url)
        for concurrency in (1, 4):
            _check_shadow(pytester, f"--opsladder-concurrency={concurrency}", *xdist)
