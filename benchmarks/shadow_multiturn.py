"""Part 2 of bench_shadow (issue 18): the multi-turn streaming agent, shadowed and alone.

Imported by bench_shadow.py (run_all runs ``bench_*.py`` only). ``python
benchmarks/shadow_multiturn.py`` runs this part on its own. Also holds what part 3
(shadow_workers.py) shares: the model in its own process, the pytest project of this agent,
and a pytest session timed from its conftest.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shadow_agent import TURNS, AsyncStreamingAgent, StreamingAgent, note

from pytest_opsladder.capture.recorder import RunRecorder
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cassette import files
from pytest_opsladder.demo import serve_model
from pytest_opsladder.drift.concurrent import ShadowJob, run_jobs
from pytest_opsladder.drift.shadow import DivergencePolicy, ShadowRecorder
from pytest_opsladder.modes import Mode, RecordMode

CASES = 96
LATENCY = 0.05
K = 8
REPEATS = 4  # interleaved, best of: one pass of each swings by 10-20% here
TARGET_ALONE = 1.1
HERE = Path(__file__).resolve().parent
PROD, NEXT = Variant("prod", model="demo-model"), Variant("next", model="demo-model")
SERVER = (
    "import sys\n"
    "from pytest_opsladder.demo.model_server import serve_model\n"
    f"with serve_model(latency_s={LATENCY}) as url:\n"
    "    print(url, flush=True)\n"
    "    sys.stdin.read()\n"
)
Clock = tuple[float, float]  # wall seconds, CPU seconds of this process


@contextmanager
def slow_model() -> Iterator[str]:
    """The 50 ms model in its own process: its CPU is not ours, as a remote model's is not."""
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        yield server.stdout.readline().strip()  # type: ignore[union-attr]
    finally:
        server.communicate("")


def timed(fn: Callable[[], Any]) -> Clock:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def record_baselines(tmp: Path) -> list[Any]:
    with serve_model() as url:
        agent = StreamingAgent(url)
        for i in range(CASES):
            with RunRecorder(Case(f"case-{i}", note(i)), PROD, tmp / f"{i}.json",
                             mode=Mode.RECORD, record_mode=RecordMode.ONCE) as run:  # fmt: skip
                run.output = agent(note(i))
    return [files.load(tmp / f"{i}.json") for i in range(CASES)]


def alone_threads(url: str) -> None:
    agent = StreamingAgent(url)
    with ThreadPoolExecutor(max_workers=K) as pool:
        list(pool.map(agent, [note(i) for i in range(CASES)]))


def alone_tasks(url: str) -> None:
    agent = AsyncStreamingAgent(url)

    async def all_cases() -> None:
        gate = asyncio.Semaphore(K)

        async def one(i: int) -> Any:
            async with gate:
                return await agent(note(i))

        await asyncio.gather(*(one(i) for i in range(CASES)))

    asyncio.run(all_cases())


def shadowed(url: str, baselines: list[Any], agent: Any) -> None:
    jobs = [ShadowJob(ShadowRecorder(Case(f"case-{i}", note(i)), NEXT, baselines[i], None,
                                     policy=DivergencePolicy.NEAREST), agent, note(i))
            for i in range(CASES)]  # fmt: skip
    done = run_jobs(jobs, K)
    complete = [j for j in done if j.recorder.run.status.value == "complete"]
    assert len(complete) == CASES, [j.recorder.run.error for j in done if j not in complete][:1]


def multi_turn_part() -> None:
    best: dict[str, Clock] = {}
    with tempfile.TemporaryDirectory() as tmp_name, slow_model() as url:
        baselines = record_baselines(Path(tmp_name))
        shapes: dict[str, Callable[[], None]] = {
            "threads alone": lambda: alone_threads(url),
            "threads shadow": lambda: shadowed(url, baselines, StreamingAgent(url)),
            "tasks alone": lambda: alone_tasks(url),
            "tasks shadow": lambda: shadowed(url, baselines, AsyncStreamingAgent(url)),
        }
        for _ in range(REPEATS):  # interleaved, best of: the machine is shared
            for name, fn in shapes.items():
                wall, cpu = timed(fn)
                prior = best.get(name, (wall, cpu))
                best[name] = (min(prior[0], wall), min(prior[1], cpu))
    ideal = CASES * TURNS * LATENCY / K
    print(f"\nmulti-turn streaming tool-calling agent, real openai SDK, {CASES} cases x {TURNS} "
          f"model calls, {LATENCY * 1000:.0f} ms model, concurrency {K} (ideal {ideal:.2f} s), "
          f"best of {REPEATS} interleaved (wall s / CPU s of this process)")  # fmt: skip
    for shape in ("threads", "tasks"):
        alone, ours = best[f"{shape} alone"], best[f"{shape} shadow"]
        ratio = ours[0] / alone[0]
        verdict = "PASS" if ratio <= TARGET_ALONE else "MISS"
        print(f"  K {shape:<7}: shadow {ours[0]:5.2f} s / {ours[1]:5.2f} s CPU | agent alone "
              f"{alone[0]:5.2f} s / {alone[1]:5.2f} s CPU | {ratio:.2f}x wall, "
              f"{ours[1] / alone[1]:.2f}x CPU (target <= {TARGET_ALONE}x) {verdict}")  # fmt: skip


# The test loop's clock, for a conftest: its wall seconds, and those of its candidate runs
# (the loop up to the first item's report), written to $SHADOW_PHASE.
LOOP_TIMER = """
_FIRST_ITEM = []

def pytest_runtest_logstart(nodeid, location):
    if not _FIRST_ITEM:
        _FIRST_ITEM.append(time.perf_counter())   # the candidate runs (prefetch) are done

@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        end = time.perf_counter()
        runs = (_FIRST_ITEM or [end])[0] - start
        Path(os.environ["SHADOW_PHASE"]).write_text(f"{end - start} {runs}")
"""


def conftest(tool_rounds: int = 1) -> str:
    """The conftest of a project shadowing ``StreamingAgent`` with ``tool_rounds`` tool calls."""
    return f"""
import os, sys, threading, time
from pathlib import Path
import pytest
sys.path.insert(0, {str(HERE)!r})
from shadow_agent import StreamingAgent
from pytest_opsladder import Variant

TOOL_ROUNDS = {tool_rounds}
_AGENTS = {{}}
_LOCK = threading.Lock()  # the build hook is called from the candidate runs' threads

def _agent():
    url = os.environ["MODEL_URL"]  # one client per process, as an app holds it
    with _LOCK:
        if url not in _AGENTS:
            _AGENTS[url] = StreamingAgent(url, tool_rounds=TOOL_ROUNDS)
    return _AGENTS[url]

def pytest_opsladder_variants():
    return [Variant("prod", model="demo-model"), Variant("next", model="demo-model")]

@pytest.fixture
def opsladder_agent(opsladder_variant):
    return _agent()

def pytest_opsladder_build_agent(config, variant, case, workdir):
    return _agent()
{LOOP_TIMER}
"""


CONFTEST = conftest()


def write_project(root: Path, conftest: str = CONFTEST, inputs: list[Any] | None = None) -> None:
    """A pytest project: the conftest, a baseline variant, and one nightmare case per input."""
    (root / "conftest.py").write_text(conftest)
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\nopsladder_baseline = "prod"\n')
    cases = root / "nightmare_set"
    cases.mkdir()
    for i, case_input in enumerate(inputs if inputs is not None else map(note, range(CASES))):
        (cases / f"case-{i}.yaml").write_text(json.dumps({"id": f"case-{i}", "input": case_input}))


def pytest_in(root: Path, url: str, *args: str) -> tuple[tuple[float, float], Any]:
    """Wall seconds (the conftest's clock) of one pytest session's test loop, and of its
    candidate runs alone (the loop up to the first item's report)."""
    phase = root / "phase.txt"
    env = {**os.environ, "MODEL_URL": url, "SHADOW_PHASE": str(phase)}
    cmd = [sys.executable, "-m", "pytest", "nightmare_set", "-q", "-p", "no:cacheprovider",
           "-p", "no:randomly", *args]  # fmt: skip
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"pytest {' '.join(args)} exited {done.returncode}:\n{done.stdout}")
    loop, runs = (float(x) for x in phase.read_text().split())
    return (loop, runs), done


if __name__ == "__main__":
    multi_turn_part()
