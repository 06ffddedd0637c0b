"""A loopback TCP forwarder whose link can be cut and restored, to stage outages in tests.

The platform under test talks to the real Redis through it; ``cut()`` closes every open
connection and stops listening (clients see resets, then refused connections), ``restore()``
listens again on the same port. Nothing is simulated beyond the network link itself.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpFaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``; ``cut``/``restore`` stage an outage."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = self._listen(0)

    @property
    def address(self) -> tuple[str, int]:
        """Host and port clients connect to."""
        return ("127.0.0.1", self.port)

    def _listen(self, port: int) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(256)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return listener.getsockname()[1]

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        """Stop listening and reset every open connection."""
        if self._listener is not None:
            self._close(self._listener)
            self._listener = None
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            self._close(sock)

    def restore(self) -> None:
        """Listen again on the same port."""
        if self._listener is None:
            self._listen(self.port)

    def close(self) -> None:
        """Cut for good."""
        self.cut()
