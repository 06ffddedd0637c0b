"""Test harness: one Ray cluster and one Serve instance of the real serve.yaml per session.

Redis is real: ``REDIS_URL`` when reachable, else the machine's own at 127.0.0.1:6379 (db 15),
else an embedded Valkey server. The platform reaches it through a loopback TCP forwarder so
tests can cut the link and stage a Redis outage.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import pytest_asyncio
import redis

from feeds.simulator import IQFeedSimulator
from tests.support.local_platform import free_port, start_platform, stop_platform
from tests.support.tcp_fault_proxy import TcpFaultProxy

TEST_SESSION_TIMEOUT_S = 60
TEST_JANITOR_INTERVAL_S = 0.5


def _reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the real Redis the tests use (never the forwarder)."""
    for url in (os.environ.get("REDIS_URL"), "redis://127.0.0.1:6379/15"):
        if url and _reachable(url):
            yield url
            return
    from deployments.common.embedded_redis import start_valkey

    server = start_valkey(tmp_path_factory.mktemp("valkey"))
    yield server.connection_url
    server.stop()


@pytest.fixture(scope="session")
def redis_client(redis_url: str) -> redis.Redis:
    """Synchronous client straight to the test Redis, for inspecting what the platform stored."""
    return redis.Redis.from_url(redis_url)


CACHE_PATTERNS = ("v1:bars:*", "v1:agg:*", "v1:lock:*", "v1:request:*")


def _clear_platform_caches(url: str) -> None:
    """Start cold: bar caches left by an earlier run would hide the feed from the tests."""
    client = redis.Redis.from_url(url)
    for pattern in CACHE_PATTERNS:
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)


@pytest.fixture(scope="session")
def redis_proxy(redis_url: str) -> Iterator[TcpFaultProxy]:
    """The forwarder between the platform and Redis."""
    parts = urlsplit(redis_url)
    proxy = TcpFaultProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    yield proxy
    proxy.close()


@dataclass(frozen=True)
class Platform:
    """The running platform under test."""

    base_url: str
    redis_url: str
    redis_proxy: TcpFaultProxy
    session_timeout_s: int
    env: dict[str, str]


def _platform_env(proxied_url: str, data_dir: Path) -> dict[str, str]:
    (data_dir / "strategies").mkdir()
    return {
        "STRATEGIES_DIR": str(data_dir / "strategies"),
        "REDIS_URL": proxied_url,
        "IQFEED_LOOKUP_PORT": str(free_port()),
        "IQFEED_ADMIN_PORT": str(free_port()),
        "IQFEED_WATCHDOG_INTERVAL_S": "0.5",
        "IQFEED_TIMEOUT_S": "10",
        "DTN_PRODUCT_ID": "",
        "DTN_LOGIN": "",
        "DTN_PASSWORD": "",
        "SESSION_TIMEOUT_S": str(TEST_SESSION_TIMEOUT_S),
        "JANITOR_INTERVAL_S": str(TEST_JANITOR_INTERVAL_S),
        "DATA_DIR": str(data_dir),
        "RETRY_AFTER_S": "3",
    }


@pytest.fixture(scope="session")
def platform(
    redis_url: str, redis_proxy: TcpFaultProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Ray + Serve running the real serve.yaml on a free port, settings from the environment."""
    _clear_platform_caches(redis_url)
    parts = urlsplit(redis_url)
    proxied = urlunsplit(parts._replace(netloc=f"127.0.0.1:{redis_proxy.port}"))
    env = _platform_env(proxied, tmp_path_factory.mktemp("data"))
    saved = {key: os.environ.get(key) for key in env}
    try:
        base_url = start_platform(env)
        yield Platform(base_url, redis_url, redis_proxy, TEST_SESSION_TIMEOUT_S, env)
    finally:
        stop_platform()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def http(platform: Platform) -> Iterator[httpx.Client]:
    """An HTTP client against the Serve proxy."""
    with httpx.Client(base_url=platform.base_url, timeout=30) as client:
        yield client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def simulator() -> AsyncIterator[IQFeedSimulator]:
    """The IQFeed simulator on free loopback ports, in the tests' event loop."""
    sim = IQFeedSimulator(lookup_port=0, admin_port=0, stats_interval_s=0.2)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def faults(simulator: IQFeedSimulator) -> Iterator:
    """The simulator's fault switches, all off before and after the test."""
    simulator.faults.clear()
    yield simulator.faults
    simulator.faults.clear()
