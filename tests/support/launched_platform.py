"""A platform started the way ``make run`` starts it, in a process of its own.

``python -m deployments.launcher`` with no ``REDIS_URL`` (so the embedded, supervised Valkey
server holds the state), its data in a directory of the test's, the simulator on free ports and
an ``ACCESS_TOKEN``. The launcher gets a session of its own (``setsid``): what it starts is
found as its process tree (:func:`process_tree`: Ray's processes, Valkey, the simulator, which
the watchdog starts in a session of its own) and, once orphaned, by that session id.
:meth:`LaunchedPlatform.stop` says what outlived the launcher.

Linux only: processes, their sockets and listeners are read from ``/proc``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from deployments.common.embedded_redis import servers_in
from deployments.common.settings import PROJECT_ROOT, Settings
from deployments.launcher import free_port

STOP_TIMEOUT_S = 90.0
"""How long the launcher may take to stop Serve and Ray after SIGTERM."""
EXIT_GRACE_S = 30.0
"""How long what it started may take to exit after it (the simulator exits ~5 s after its
last client left)."""


@dataclass(frozen=True)
class Proc:
    """One process as ``/proc/<pid>/stat`` and ``cmdline`` show it."""

    pid: int
    ppid: int
    session: int
    command: str


def processes() -> dict[int, Proc]:
    """Every process on the machine (that still exists by the time it is read)."""
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace").strip()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...: comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2:].split()
        pid = int(entry.name)
        found[pid] = Proc(pid, int(fields[1]), int(fields[3]), command or stat.split()[1])
    return found


def process_tree(root: int) -> dict[int, Proc]:
    """``root`` and every process descending from it, plus any process of ``root``'s session
    (orphans of the tree keep that)."""
    every = processes()
    tree = {pid: proc for pid, proc in every.items() if proc.session == root or pid == root}
    grew = True
    while grew:
        grew = False
        for pid, proc in every.items():
            if pid not in tree and proc.ppid in tree:
                tree[pid] = proc
                grew = True
    return tree


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def session_processes(session: int) -> dict[int, Proc]:
    """The running processes of ``session``."""
    return {pid: proc for pid, proc in processes().items()
            if proc.session == session and _alive(pid)}


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket and the processes that hold it."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    pids: tuple[int, ...]

    @property
    def on_loopback(self) -> bool:
        """True for 127.0.0.0/8, ::1 and ::ffff:127.x.x.x."""
        mapped = getattr(self.address, "ipv4_mapped", None)
        return self.address.is_loopback or bool(mapped and mapped.is_loopback)

    def __str__(self) -> str:
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{host}:{self.port} (pids {', '.join(map(str, self.pids))})"


def _address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address of /proc/net/tcp{,6}: 32-bit words, each in the host's (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def _socket_inodes(pids: set[int]) -> dict[int, set[int]]:
    """Socket inode -> the pids among ``pids`` holding it open."""
    holders: dict[int, set[int]] = {}
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                holders.setdefault(int(target[8:-1]), set()).add(pid)
    return holders


def tcp_listeners(pids: set[int]) -> list[Listener]:
    """Every listening TCP socket (IPv4 and IPv6) held by one of ``pids``."""
    holders = _socket_inodes(pids)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            columns = line.split()
            local, state, inode = columns[1], columns[3], int(columns[9])
            if state != "0A" or inode not in holders:  # 0A: LISTEN
                continue
            host, port = local.split(":")
            found.append(Listener(_address(host), int(port, 16), tuple(sorted(holders[inode]))))
    return found


def _settings_variables() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def launch_env(data_dir: Path) -> dict[str, str]:
    """The environment of ``make run`` for this test: the caller's, less every platform setting
    and Ray address it may hold (the shared test platform sets them in this process), plus
    free ports, ``data_dir``, the simulator and an access token."""
    env = {key: value for key, value in os.environ.items()
           if key not in _settings_variables() and key != "RAY_ADDRESS"}
    env.update({
        "HOST": "127.0.0.1",
        "HTTP_PORT": str(free_port()),
        "DASHBOARD_PORT": str(free_port()),
        "DATA_DIR": str(data_dir),
        "IQFEED_LOOKUP_PORT": str(free_port()),
        "IQFEED_ADMIN_PORT": str(free_port()),
        "IQFEED_DERIVATIVE_PORT": str(free_port()),
        "IQFEED_LEVEL1_PORT": str(free_port()),
        "IQFEED_WATCHDOG_INTERVAL_S": "0.5",
        "DTN_PRODUCT_ID": "",
        "DTN_LOGIN": "",
        "DTN_PASSWORD": "",
        "ACCESS_TOKEN": secrets.token_urlsafe(24),
        "RETRY_AFTER_S": "3",
        "PYTHONUNBUFFERED": "1",
        "PYTHONFAULTHANDLER": "1",  # a crash of the launcher leaves its traceback in the log
    })
    return env


@dataclass
class LaunchedPlatform:
    """``python -m deployments.launcher`` running in its own session."""

    process: subprocess.Popen
    env: dict[str, str]
    log_path: Path
    started_s: float = 0.0
    stopped: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['HTTP_PORT']}"

    @property
    def auth_headers(self) -> dict[str, str]:
        """The header that carries the platform's ``ACCESS_TOKEN``."""
        return {"Authorization": f"Bearer {self.env['ACCESS_TOKEN']}"}

    @property
    def valkey_dir(self) -> Path:
        return Path(self.env["DATA_DIR"]) / "valkey"

    def valkey_pids(self) -> list[int]:
        """Pids of the embedded Valkey server(s) running on this platform's data."""
        return servers_in(self.valkey_dir)

    def valkey_client(self) -> redis.Redis:
        """A client straight to the embedded Valkey server (its port and, when it has one, its
        password are kept in its data directory)."""
        port = int((self.valkey_dir / "valkey.port").read_text())
        password_file = self.valkey_dir / "password"
        password = password_file.read_text().strip() if password_file.exists() else None
        return redis.Redis(host="127.0.0.1", port=port, password=password)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the launcher's output (stdout and stderr)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def client(self, timeout_s: float = 30) -> httpx.Client:
        """An HTTP client holding the access token."""
        return httpx.Client(base_url=self.base_url, timeout=timeout_s,
                            headers=self.auth_headers)

    def wait_healthy(self, timeout_s: float) -> None:
        """Until ``/health`` answers 200 with Redis reachable; RuntimeError if the launcher
        exits first, TimeoutError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self.client(timeout_s=5) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the launcher exited ({self.process.returncode}):\n"
                                       f"{self.log_tail()}")
                try:
                    answer = http.get("/health")
                    if answer.status_code == 200 and answer.json()["redis"]["reachable"]:
                        return
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                time.sleep(0.5)
        raise TimeoutError(f"no healthy /health after {timeout_s}s:\n{self.log_tail()}")

    def wait_feed_connected(self, timeout_s: float = 60.0) -> None:
        """Until ``/health`` says the watchdog has the simulator up and connected."""
        deadline = time.monotonic() + timeout_s
        health: object = None
        with self.client(timeout_s=5) as http:
            while time.monotonic() < deadline:
                try:
                    health = http.get("/health").json()
                    if health["iqfeed"]["watchdog"]["state"] == "connected":
                        return
                except (httpx.HTTPError, ValueError, KeyError, TypeError):
                    pass
                time.sleep(0.3)
        raise TimeoutError(f"the feed is not connected after {timeout_s}s: {health}")

    def tree(self) -> dict[int, Proc]:
        """The launcher and every process it started."""
        return process_tree(self.process.pid)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S, grace_s: float = EXIT_GRACE_S
             ) -> list[Proc]:
        """SIGTERM the launcher (as Ctrl-C stops ``make run``) and wait for it; then give every
        process it started (its tree just before, its session, the Valkey servers of its data)
        ``grace_s`` to exit. Returns those still running then, which are then SIGKILLed."""
        seen = self.tree()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.stopped.append(f"the launcher ignored SIGTERM for {timeout_s}s")
                self.process.kill()
                self.process.wait(10)

        def running() -> list[Proc]:
            now = processes()
            left = session_processes(self.process.pid)
            left.update({pid: now[pid] for pid in seen
                         if pid in now and now[pid].command == seen[pid].command
                         and _alive(pid)})
            left.update({pid: now[pid] for pid in self.valkey_pids() if pid in now})
            left.pop(self.process.pid, None)
            return sorted(left.values(), key=lambda proc: proc.pid)

        deadline = time.monotonic() + grace_s
        while running() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = running()
        for proc in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
        return left


def launch(data_dir: Path, log_path: Path, timeout_s: float = 240.0,
           settings: dict[str, str] | None = None) -> LaunchedPlatform:
    """Start ``python -m deployments.launcher`` as ``make run`` does (with ``settings`` on top
    of its environment, e.g. ``MARKET_REPLAY``) and wait for its health; on failure it is
    stopped again and the error names the launcher's output."""
    env = {**launch_env(data_dir), **(settings or {})}
    began = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "deployments.launcher"], cwd=PROJECT_ROOT, env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    platform = LaunchedPlatform(process, env, log_path)
    try:
        platform.wait_healthy(timeout_s)
    except BaseException:
        platform.stop()
        raise
    platform.started_s = time.monotonic() - began
    return platform
