"""Loopback servers that misbehave at the socket level, for the transport-error and cut-stream
tests: each reads a request whole, then answers it as its subclass says (closes, stalls, cuts
a stream). Real sockets, no HTTP library on the server side."""

from __future__ import annotations

import contextlib
import socket
import threading


class RawServer:
    """Accepts connections on a free loopback port; each request is read whole (headers and a
    Content-Length body), counted in ``hits``, and handed to :meth:`answer`. Connections kept
    with :meth:`hold` stay open, unanswered, until :meth:`stop`."""

    def __init__(self, how: str) -> None:
        self.how = how
        self.hits = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
            read_request(conn)
            self.hits += 1
            self.answer(conn)

    def answer(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def hold(self, conn: socket.socket) -> None:
        """Leave ``conn`` open and unanswered: :meth:`stop` shuts every accepted connection."""

    def stop(self) -> None:
        """Stop at once: shutting the sockets down (not only closing them) wakes the serving
        thread where it blocks, in ``accept`` or in reading a request a client never sent."""
        self.stopped.set()
        for sock in (self.sock, *self.accepted):
            _shut(sock)
        self.thread.join(timeout=5)
        assert not self.thread.is_alive(), "the raw server's thread did not stop"


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already, or never connected
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def read_request(conn: socket.socket) -> None:
    """The whole request (headers and a Content-Length body): closing with some of it unread
    would reset the connection instead of closing it."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = conn.recv(65536)
        if not got:
            return
        data += got
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        got = conn.recv(65536)
        if not got:
            return
        body += got
