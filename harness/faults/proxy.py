"""A loopback TCP proxy that can cut or reset one agent's connections.

Each agent process of a multi-process run reaches the backend through its own
proxy, so a partition is real at the socket level: ``cut()`` refuses new
connections and resets open ones; ``reset()`` only resets the open ones;
``heal()`` lets traffic through again.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from harness import settings


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target`` until cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        if target_host not in (settings.LOOPBACK, "localhost"):
            raise ValueError(f"the proxy only forwards to loopback, not {target_host}")
        self.target = (target_host, target_port)
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((settings.LOOPBACK, 0))
        self._server.listen(64)
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        self.accepted = 0
        self.refused = 0
        self._thread = threading.Thread(target=self._accept_loop, name=f"proxy-{self.port}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{settings.LOOPBACK}:{self.port}"

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self) -> None:
        """Partition: reset every open connection and refuse new ones."""
        with self._lock:
            self._cut = True
        self.reset()

    def reset(self) -> None:
        """Reset every open connection (new ones are let through unless cut)."""
        with self._lock:
            conns, self._conns = self._conns, set()
        for c in conns:
            _reset(c)

    def heal(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        # shutdown() wakes the thread blocked in accept(); close() alone does not.
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._server.close()
        self._thread.join(timeout=2)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self._cut or self._closed:
                self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            # The timeout was for connecting only: a long poll may sit idle for 20 s.
            upstream.settimeout(None)
            with self._lock:
                # Checked again under the lock, so that a cut() made while
                # connecting upstream cannot miss this connection.
                refused = self._cut
                if not refused:
                    self._conns.update((client, upstream))
            if refused:
                self.refused += 1
                _reset(client)
                _reset(upstream)
                continue
            self.accepted += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or self._cut:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()


def _reset(s: socket.socket) -> None:
    """Close with RST rather than FIN, as a dropped connection looks to the peer."""
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # A pump thread blocked in recv() on this socket keeps it open past close():
    # shutting down the read side wakes it (and sends nothing to the peer).
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        s.close()
