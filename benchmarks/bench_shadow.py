"""Shadow mode at scale: cases against a loopback model answering in 50 ms.

Part 1, the demo agent (one model call a case), 200 cases. Target (issue 4): at concurrency
16, within 1.5x of the ideal 200 x 0.05 / 16 s. The alternative a user would otherwise have is
running the cases one after another (a plain pytest loop over the cases), in the same run.

Part 2, the user's question (issue 18): a multi-turn, tool-calling, streaming agent on the real
openai SDK (benchmarks/shadow_agent.py: a streamed tool call, a tool, a second turn), shadowed
at concurrency K against the same agent in K threads and in K asyncio tasks without the
plugin, interleaved in the same run. Target: shadow at most 1.1x the agent alone at the same
concurrency.

Part 3 (benchmarks/shadow_workers.py): the same cases through pytest, ``--opsladder-workers`` =
cores (K split over them; one process at concurrency K for reference), and the shipped demo
agent likewise (200 cases, 16 in flight). Target: at most 1.2x the ideal cases x turns x 0.05
/ K (the test loop: from its start to its end, worker start-up included; collection not). Next
to it, the same agent alone in the same shape (as many processes and threads, no pytest, no
plugin): what this machine allows at best, and our ratio to it.

    python benchmarks/bench_shadow.py
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from shadow_agent import demo_note as note

from pytest_opsladder.capture.llm import llm_call
from pytest_opsladder.capture.recorder import RunRecorder
from pytest_opsladder.capture.variant import Case
from pytest_opsladder.demo import build_agent, demo_variants, serve_model
from pytest_opsladder.demo.agent import PROPOSE_POST, ContentAgent
from pytest_opsladder.drift.concurrent import ShadowJob, run_jobs
from pytest_opsladder.drift.shadow import DivergencePolicy, ShadowRecorder
from pytest_opsladder.modes import Mode, RecordMode

HTTP = httpx.Client(
    limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
    transport=httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]),
)
CASES = 200
LATENCY = 0.05
CONCURRENCY = 16
ROOT = Path(__file__).resolve().parents[1]
SERVER = (
    "import sys, time\n"
    "from pytest_opsladder.demo.model_server import serve_model\n"
    f"with serve_model(latency_s={LATENCY}) as url:\n"
    "    print(url, flush=True)\n"
    "    sys.stdin.read()\n"
)


def variants() -> tuple[object, object]:
    prod, nxt = demo_variants(str(ROOT / "pytest_opsladder/demo/prompts"))
    return prod, nxt


def record_baselines(tmp: Path) -> list[Path]:
    prod, _ = variants()
    paths = []
    with serve_model() as url:
        for i in range(CASES):
            path = tmp / f"case-{i}" / "prod.json"
            case = Case(f"case-{i}", note(i))
            agent = build_agent(prod, url, tmp / "cms" / f"{i}.db")  # type: ignore[arg-type]
            with RunRecorder(
                case, prod, path, mode=Mode.RECORD, record_mode=RecordMode.ONCE
            ) as run:  # type: ignore[arg-type]
                run.output = agent(case.input)
            paths.append(path)
    return paths


class LeanAgent(ContentAgent):
    """The demo agent with its model call made by a plain httpx client instead of the SDK.

    The openai SDK spends several ms of CPU per request building it (``maybe_transform``);
    with 16 runs in flight on one GIL that dominates. This variant isolates what shadow mode
    itself costs; tools, decisions and capture are the same.
    """

    http: Any = None

    def _ask(self, note: str) -> str:
        body = {"model": self.variant.model, "seed": 7, "tools": [PROPOSE_POST],
                "messages": [{"role": "system", "content": self.variant.prompt_text or ""},
                             {"role": "user", "content": note}]}  # fmt: skip
        reply = self.http.post(f"{self.base_url}/chat/completions", json=body).json()
        llm_call(str(self.variant.model), reply["model"], reply["usage"])
        return str(reply["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])


def jobs(tmp: Path, baselines: list[Path], url: str, lean: bool = False) -> list[ShadowJob]:
    from pytest_opsladder.cassette import files

    _, nxt = variants()
    out = []
    for i, path in enumerate(baselines):
        case = Case(f"case-{i}", note(i))
        recorder = ShadowRecorder(case, nxt, files.load(path), None,  # type: ignore[arg-type]
                                  policy=DivergencePolicy.NEAREST)  # fmt: skip
        agent = build_agent(nxt, url, tmp / "shadow-cms" / f"{i}.db")  # type: ignore[arg-type]
        if lean:
            agent = LeanAgent(agent.variant, url, agent.cms)
            agent.http = HTTP
        out.append(ShadowJob(recorder, agent, case.input))
    return out


def timed(
    tmp: Path, baselines: list[Path], url: str, concurrency: int, lean: bool = False
) -> tuple[float, int]:
    batch = jobs(tmp / f"c{concurrency}-{lean}", baselines, url, lean)
    start = time.perf_counter()
    done = run_jobs(batch, concurrency)
    elapsed = time.perf_counter() - start
    complete = sum(1 for j in done if j.recorder.run.status.value == "complete")
    return elapsed, complete


def demo_agent_part() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        baselines = record_baselines(tmp)
        server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            url = server.stdout.readline().strip()  # type: ignore[union-attr]
            figures = {
                (agent, c): timed(tmp, baselines, url, c, agent == "httpx")
                for agent in ("openai SDK", "httpx") for c in (CONCURRENCY, 1)
            }  # fmt: skip
        finally:
            server.communicate("")
    ideal = CASES * LATENCY / CONCURRENCY
    print(
        f"shadow, {CASES} cases, model latency {LATENCY * 1000:.0f} ms, "
        f"ideal {CASES} x {LATENCY} / {CONCURRENCY} = {ideal:.3f} s, target <= {1.5 * ideal:.3f} s"
    )
    for agent in ("openai SDK", "httpx"):
        ours, ok = figures[(agent, CONCURRENCY)]
        serial, _ = figures[(agent, 1)]
        verdict = "PASS" if ours <= 1.5 * ideal else "MISS"
        print(
            f"  demo agent via {agent:<10}: concurrency {CONCURRENCY} {ours:5.2f} s "
            f"({ours / ideal:.2f}x ideal, {ok} complete) {verdict} | one by one (the "
            f"alternative) {serial:5.2f} s, {serial / ours:.1f}x slower"
        )


def main() -> int:
    demo_agent_part()
    from shadow_multiturn import multi_turn_part
    from shadow_workers import workers_part

    multi_turn_part()
    workers_part()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
