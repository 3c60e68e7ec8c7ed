"""``run_built``: candidate jobs built one by one in the caller's thread, each started at once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from pytest_opsladder.capture.run import Run
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.drift.concurrent import ShadowJob, run_built
from pytest_opsladder.drift.shadow import ShadowRecorder

PROD, NEXT = Variant("prod"), Variant("next")


def _job(i: int, agent: Any) -> ShadowJob:
    case = Case(f"case-{i}", {"i": i})
    baseline = Run(case, PROD)
    baseline.finish({"i": i})
    return ShadowJob(ShadowRecorder(case, NEXT, baseline, None), agent, case.input)


def test_jobs_are_built_in_the_pool_while_the_first_runs() -> None:
    run_built([0], lambda i: _job(i, dict), 1)  # a process's first run imports vcrpy: not here
    events: list[str] = []
    builders: set[str] = set()

    def agent(case_input: dict[str, int]) -> dict[str, int]:
        events.append(f"run {case_input['i']}")
        time.sleep(0.05)  # the model's latency
        return case_input

    def build(i: int) -> ShadowJob | None:
        builders.add(threading.current_thread().name)
        time.sleep(0.2)  # a hook that writes files (the demo's CMS): I/O, no GIL held
        if i == 2:
            return None  # no baseline: nothing to run for it
        events.append(f"built {i}")
        return _job(i, agent)

    start = time.perf_counter()
    done = run_built(range(5), build, concurrency=4)
    elapsed = time.perf_counter() - start
    assert [i for i, _ in done] == [0, 1, 3, 4]  # the sources' order, the skipped one left out
    assert [job.recorder.run.output for _, job in done] == [{"i": i} for i in (0, 1, 3, 4)]
    assert events.index("run 0") < events.index("built 4")  # running before building is done
    assert any(name.startswith("opsladder-shadow") for name in builders)  # built in the pool
    assert elapsed < 5 * 0.2  # the builds overlapped: one after another they take 1 s


def test_async_agents_run_as_tasks_and_a_sync_one_among_them_in_a_thread() -> None:
    seen: dict[int, str] = {}

    async def agent(case_input: dict[str, int]) -> dict[str, int]:
        await asyncio.sleep(0.01)
        seen[case_input["i"]] = "task"
        return case_input

    def sync_agent(case_input: dict[str, int]) -> dict[str, int]:
        seen[case_input["i"]] = threading.current_thread().name
        return case_input

    finished: list[int] = []
    done = run_built(range(4), lambda i: _job(i, sync_agent if i == 2 else agent), concurrency=2,
                     on_done=lambda job: finished.append(job.case_input["i"]))  # fmt: skip
    assert [job.recorder.run.status.value for _, job in done] == ["complete"] * 4
    assert seen[0] == seen[1] == seen[3] == "task"
    assert seen[2] != threading.current_thread().name
    assert sorted(finished) == [0, 1, 2, 3]


@pytest.mark.parametrize("sources", [[], [None, None]])
def test_nothing_to_run(sources: list[None]) -> None:
    assert run_built(sources, lambda _: None, concurrency=2) == []


class _Ok(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def ok_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_batch_keeps_the_http_patches_in_between_its_runs_and_removes_them_after(
    ok_url: str,
) -> None:
    original = httpx.HTTPTransport.handle_request
    seen: list[Any] = []
    built_outside_a_run: list[int] = []

    def agent(case_input: dict[str, int]) -> dict[str, int]:
        seen.append(httpx.HTTPTransport.handle_request)  # what this run's requests go through
        assert httpx.get(ok_url).text == "ok"  # live: a candidate's model call
        return case_input

    def build(i: int) -> ShadowJob:
        # between runs, outside any: a request passes through, patched or not
        built_outside_a_run.append(httpx.get(ok_url).status_code)
        return _job(i, agent)

    done = run_built(range(3), build, concurrency=1)  # one after another: gaps between runs
    assert [job.recorder.run.status.value for _, job in done] == ["complete"] * 3
    for _, job in done:  # each run saw its own live call, and only that one
        http = [e.data["outcome"] for e in job.recorder.run.events if e.kind == "http"]
        assert http == ["live"]
    assert seen[0] is not original
    assert seen[0] is seen[1] is seen[2]  # installed once
    assert built_outside_a_run == [200, 200, 200]
    assert httpx.HTTPTransport.handle_request is original  # nothing stays patched
