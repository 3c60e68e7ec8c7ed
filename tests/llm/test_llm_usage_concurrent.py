"""Concurrent candidate runs each count their own model call's usage (the first wave too).

The first concurrent wave of a fresh process used to lose its LLM calls: one thread marked the
built-in LLM providers loaded before it had added them, and the others, reading their answers
meanwhile, found no provider, so their call was "not an LLM call": ``llm_calls`` 0, tokens 0,
cost 0 (an improvement the gate believed). The server here answers a wave only once all of it
has arrived, so the whole wave reads its answers at the same moment; each session runs in a
fresh interpreter, where nothing has been loaded yet.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from user_projects import PRICED_PYPROJECT, SHADOW_WIRING, ask_cases, write_project
from wire_server import Handler, WireServer

CONFTEST = (
    """
import os
import pytest
from openai import OpenAI
from pytest_opsladder import Variant

def make_agent(variant):
    def agent(case_input):
        with OpenAI(base_url=os.environ["WIRE_URL"] + "/v1", api_key="sk-test",
                    max_retries=0) as client:
            reply = client.chat.completions.create(
                model=variant.model, messages=[{"role": "user", "content": case_input["q"]}])
        return reply.choices[0].message.content
    return agent
"""
    + SHADOW_WIRING
)

PYPROJECT = PRICED_PYPROJECT

CASES = 24


class _WaveHandler(Handler):
    server: _WaveServer

    def do_POST(self) -> None:
        if self.server.in_first_wave():
            # answered once the whole first wave is in (one cut short: as it comes)
            with contextlib.suppress(threading.BrokenBarrierError):
                self.server.wave.wait(timeout=30)
        super().do_POST()


class _WaveServer(WireServer):
    """Holds the first ``wave`` requests until all have arrived; answers the rest at once."""

    def __init__(self, wave: int) -> None:
        super().__init__()
        self.RequestHandlerClass = _WaveHandler
        self.wave = threading.Barrier(wave)
        self._seen = 0
        self._lock = threading.Lock()

    def in_first_wave(self) -> bool:
        with self._lock:
            self._seen += 1
            return self._seen <= self.wave.parties


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    write_project(pytester, CONFTEST, PYPROJECT, ask_cases(CASES, pad=2))
    with WireServer() as serial:
        monkeypatch.setenv("WIRE_URL", serial.url)
        pytester.runpytest("nightmare_set", "--opsladder-mode=record").assert_outcomes(passed=CASES)
    return pytester


def _candidate_usage(pytester: pytest.Pytester) -> dict[str, tuple[Any, ...]]:
    doc = json.loads((pytester.path / "reports" / "results.json").read_text())
    out = {}
    for case in doc["cases"]:
        run = case["candidate"]["runs"][0]
        m = run["metrics"]
        out[case["case_id"]] = (run["output_text"], m["llm_calls"], m["tokens_in"], m["tokens_out"])
    return out


@pytest.mark.parametrize(
    "args",
    [
        ("--opsladder-concurrency=12",),
        ("--opsladder-workers=2", "--opsladder-concurrency=6"),
    ],
    ids=["threads", "workers"],
)
def test_every_concurrent_candidate_run_counts_its_model_call(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    expected = {f"case-{i:02}": (f"answer:q{i}", 1, 12, 3) for i in range(CASES)}
    for _ in range(3):  # a fresh process each time: the first wave of each is the one at risk
        with _WaveServer(wave=12) as server:
            monkeypatch.setenv("WIRE_URL", server.url)
            result = project.runpytest_subprocess(
                "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=next", *args
            )
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()
        assert _candidate_usage(project) == expected
