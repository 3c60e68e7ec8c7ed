"""Replay closes the network to everything but loopback and the allowed hosts."""

from __future__ import annotations

import queue
import socket
import threading
from pathlib import Path

import httpx
import pytest
from http_helpers import run_in
from llm_servers import LLMServer

from pytest_opsladder.http.netguard import NetworkBlockedError
from pytest_opsladder.modes import Mode

OUTSIDE = ("10.255.255.1", 9)  # refused by the guard before any packet is sent


def connect(address: tuple[str, int]) -> str:
    with socket.create_connection(address, timeout=5):
        return "connected"


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    path = tmp_path / "c.json"
    run_in(path, lambda: None, Mode.RECORD)
    return path


def test_replay_refuses_non_loopback_sockets(cassette: Path) -> None:
    with pytest.raises(NetworkBlockedError, match="replay blocks the network"):
        run_in(cassette, lambda: connect(OUTSIDE))
    assert "connect" not in vars(socket.socket)  # the guard is gone after the run


def test_loopback_stays_open_in_replay(cassette: Path, llm_server: LLMServer) -> None:
    port = llm_server.server_address[1]
    assert run_in(cassette, lambda: connect(("127.0.0.1", int(port)))).output == "connected"


def test_allowed_ip_hosts_pass_the_guard(cassette: Path) -> None:
    with pytest.raises(ConnectionRefusedError) as info:  # let through; the OS refuses port 9
        run_in(cassette, lambda: connect(("0.0.0.0", 9)), allowed_hosts=["0.0.0.0"])
    assert not isinstance(info.value, NetworkBlockedError)


def test_http_from_outside_the_runs_context_is_neither_recorded_nor_blocked(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    """A background thread of another rung (an exporter, started before the run and asked to
    send from inside it) is not the agent's traffic."""
    jobs: queue.Queue[queue.Queue[int] | None] = queue.Queue()

    def exporter() -> None:
        while (reply := jobs.get()) is not None:
            reply.put(httpx.get(llm_server.url + "/bg").status_code)

    def background_get() -> int:
        reply: queue.Queue[int] = queue.Queue()
        jobs.put(reply)
        return reply.get(timeout=30)

    thread = threading.Thread(target=exporter, daemon=True)
    thread.start()
    path = tmp_path / "c.json"
    try:
        recorded = run_in(path, background_get, Mode.RECORD)
        assert recorded.output == 200
        assert recorded.http == []
        assert recorded.extra["http"] == {"replayed": 0, "recorded": 0, "live": 0, "blocked": 0}
        assert run_in(path, background_get).output == 200  # replay does not block it either
    finally:
        jobs.put(None)
        thread.join()
