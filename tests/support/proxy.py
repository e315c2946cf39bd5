"""A TCP proxy between prodsql and the sandbox server, to lose a connection on purpose.

``blackhole()`` keeps forwarding what the client sends but drops what the server answers
(the server does the work; the client never hears about it); ``cut()`` then closes both
sides, as a network failure would. Connections accepted afterwards are forwarded normally.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType

_CHUNK = 65536


class _Link:
    """One proxied connection: a thread per direction."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.blackholed = threading.Event()
        self.dropped = 0  # bytes from the server that never reached the client
        self._closed = False
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True),
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_server: bool) -> None:
        try:
            while data := src.recv(_CHUNK):
                if from_server and self.blackholed.is_set():
                    self.dropped += len(data)
                    continue
                dst.sendall(data)
        except OSError:
            pass  # cut() closed the sockets under us, or a peer reset
        self.cut()

    def cut(self) -> None:
        """Close both sides at once; the pumps see it and end."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def join(self, timeout: float) -> None:
        for thread in self.threads:
            if thread is not threading.current_thread():
                thread.join(timeout)


class TcpProxy:
    """Listens on 127.0.0.1 (a free port) and forwards each connection to ``upstream``."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.accepted = 0
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self.listener, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in sel.select()}
                if self._wake_r in ready:
                    return
                client, _addr = self.listener.accept()
                self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        link = _Link(client, server)
        with self._lock:
            self._links.append(link)
            self.accepted += 1
        link.start()

    def _open_links(self) -> list[_Link]:
        with self._lock:
            return list(self._links)

    @property
    def dropped(self) -> int:
        """Bytes from the server the blackhole ate, on the open connections."""
        return sum(link.dropped for link in self._open_links())

    def blackhole(self) -> None:
        """From now on, drop what the server sends on the open connections."""
        for link in self._open_links():
            link.blackholed.set()

    def cut(self) -> int:
        """Close the open connections (both sides); returns the bytes the blackhole ate."""
        with self._lock:
            links, self._links = self._links, []
        dropped = 0
        for link in links:
            link.cut()
            link.join(10)
            dropped += link.dropped
        return dropped

    def close(self) -> None:
        """Stop accepting, close every connection, join every thread."""
        self._wake_w.send(b"x")
        self._acceptor.join(10)
        self.cut()
        for sock in (self.listener, self._wake_r, self._wake_w):
            sock.close()
