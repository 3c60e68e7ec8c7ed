"""Replay closes the network: sockets to non-loopback addresses are refused (ladder level 0).

The HTTP patchers block unrecorded requests of the clients they know. A client they do not
know (a raw socket, an unpatched library) would still reach the internet in replay, so while a
replayed run is active, ``socket.connect`` to anything but loopback and the allowed hosts
raises before a packet is sent. Loopback stays open: local services (a redis, a test server)
are part of the test, not the network.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from pytest_opsladder.exceptions import ReplayError
from pytest_opsladder.http.config import HttpOptions


class NetworkBlockedError(ReplayError, ConnectionRefusedError):
    """A connection to a non-loopback address was attempted while a run replays."""


def allowed_addresses(opts: HttpOptions) -> frozenset[str]:
    """IP addresses of the allowed hosts (names resolved once, when the run starts)."""
    out: set[str] = set()
    for host in opts.allowed_hosts:
        try:
            out |= {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
        except OSError:
            continue  # a host that does not resolve cannot be connected to either
    return frozenset(out)


def _is_open(address: Any, allowed: frozenset[str]) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # unix sockets and the like are local by construction
    host = str(address[0])
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback or host in allowed
    except ValueError:
        return host.lower() in ("localhost",) or host in allowed


def check_connection(sock: socket.socket, address: Any, opts: HttpOptions) -> None:
    """Raise NetworkBlockedError for a non-loopback connection outside the allow-list."""
    allowed = allowed_addresses(opts) | opts.allowed_hosts
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_open(address, allowed):
        raise NetworkBlockedError(
            f"connection to {address!r} refused: replay blocks the network. Record the "
            "run (--opsladder-mode=record) or allow the host with "
            "opsladder_config['allowed_hosts']."
        )
