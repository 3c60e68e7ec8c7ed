"""Shared fixtures of the project's own tests: real servers on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

# pytester's inline runs drop the modules first imported inside them; numpy (under pandas and
# scipy) refuses to be imported twice in one process, so load the scientific stack up front.
import numpy  # noqa: F401
import pandas  # noqa: F401
import pytest
import scipy.stats  # noqa: F401


def _import_the_whole_package() -> None:
    """The same goes for our own lazily imported modules: one first imported inside an inline
    session would be dropped after it and imported again, splitting process-wide state (the
    HTTP patches and the runs they dispatch to) between two copies."""
    import importlib
    import pkgutil

    import pytest_opsladder

    for info in pkgutil.walk_packages(pytest_opsladder.__path__, "pytest_opsladder."):
        importlib.import_module(info.name)


_import_the_whole_package()


def _import_the_http_clients() -> None:
    """And the HTTP clients the inner sessions' agents use: httpx/httpx2 keep a map of
    httpcore's exception classes built on first use; an httpcore first imported inside an
    inner session comes back as a second copy in the next one, whose errors the map does not
    know, so the SDK saw a raw ``httpcore2.ConnectError`` instead of ``APIConnectionError``
    (failed whenever another test ran first in the same process)."""
    import importlib

    for name in ("httpcore", "httpcore2", "httpx", "httpx2", "openai", "anthropic"):
        try:
            importlib.import_module(name)
        except ImportError:
            continue


_import_the_http_clients()


@pytest.fixture(autouse=True)
def _light_pytester_sessions(request: pytest.FixtureRequest) -> None:
    """Pytester restores sys.modules after each in-process session, so hypothesis's pytest plugin
    (when hypothesis is installed) re-imports all of hypothesis at every session's summary: ~4 s
    a session. The sessions under test never use it; blocking it changes nothing they check."""
    if "pytester" not in request.fixturenames:
        return
    request.getfixturevalue("pytester")  # pytester clears PYTEST_ADDOPTS; set ours after it
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")
    # pytest prints the short test summary untruncated when CI (or BUILD_NUMBER) is set, so a
    # message the tests count would appear twice in CI only: the inner sessions run as locally.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port; yields its URL (redis://127.0.0.1:PORT/0).

    .ci/run installs Debian's redis-server; without the binary this fixture errors, on purpose.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (.ci/run does)")
    port = free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(500):
        if proc.poll() is not None:
            pytest.fail(f"redis-server exited with code {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.01)
    pytest.fail(f"redis-server did not listen on port {port} within 5 s")
