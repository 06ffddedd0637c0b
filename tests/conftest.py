"""Test layers, and the harness the platform and browser layers share.

Layers, by directory (each test gets its directory's marker, so ``pytest -m unit`` runs one):

- ``tests/unit``: pure code, the IQFeed client against the in-process simulator; no Ray, no
  Serve, no Redis server. Seconds.
- ``tests/platform``: one Ray cluster and one Serve instance of the real serve.yaml per session,
  HTTP through the Serve proxy, real Redis, the IQFeed actors.
- ``tests/cluster``: multi-node ``ray.cluster_utils.Cluster`` runs, each in its own process.
- ``tests/browser``: chromium against the same platform as ``tests/platform``.
- ``tests/chaos``: parts of a running platform killed (kill -9) under load, and its recovery;
  last, so that nothing it breaks can spill into another layer.
- ``tests/support``: helpers the layers (and ``bench/``) share; no tests.

A run goes layer by layer in that order; with ``-m``, a layer it cannot select is not even
imported. The platform fixtures live here, session-scoped, so
the platform and browser layers share one platform; nothing starts until a test asks for it.

Redis is real: ``REDIS_URL`` when reachable, else the machine's own at 127.0.0.1:6379 (db 15),
else an embedded Valkey server. The platform reaches it through a loopback TCP forwarder so
tests can cut the link and stage a Redis outage.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis

from tests.support.tcp_fault_proxy import TcpFaultProxy

TESTS = Path(__file__).parent
LAYERS = ("unit", "platform", "cluster", "browser", "chaos")
"""The test directories, in the order a run goes through them."""


def _layer(item: pytest.Item) -> str:
    parts = item.path.relative_to(TESTS).parts
    if len(parts) < 2 or parts[0] not in LAYERS:
        raise pytest.UsageError(
            f"{item.nodeid}: a test belongs in one of tests/{{{','.join(LAYERS)}}}/")
    return parts[0]


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its layer and run the layers in order (unit first, browser last)."""
    for item in items:
        item.add_marker(_layer(item))
    items.sort(key=lambda item: LAYERS.index(_layer(item)))  # stable: file order within a layer



def _may_select(markexpr: str, layer: str) -> bool:
    """Whether ``-m markexpr`` can select a test of ``layer``, whatever other marks it has."""
    try:
        from _pytest.mark.expression import Expression  # private: on any doubt, collect

        expression = Expression.compile(markexpr)
        others = sorted(expression.idents() - set(LAYERS))
    except Exception:  # pytest reports a malformed -m itself
        return True
    if len(others) > 10:
        return True
    for present in itertools.product((False, True), repeat=len(others)):
        marks = {layer, *itertools.compress(others, present)}
        if expression.evaluate(lambda name, /, marks=marks, **_: name in marks):
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave out a layer ``-m`` cannot select, unimported: ``-m unit`` imports no Ray or Serve."""
    markexpr = config.getoption("markexpr", "")
    if collection_path.parent == TESTS and collection_path.name in LAYERS and markexpr:
        return None if _may_select(markexpr, collection_path.name) else True
    return None

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
    yield server.url
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
    lan_url: str | None
    """The proxy at this machine's non-loopback address (None if it has none): a caller
    that is not on loopback."""

    @property
    def auth_headers(self) -> dict[str, str]:
        """The header that carries the platform's ``ACCESS_TOKEN``."""
        return {"Authorization": f"Bearer {self.env['ACCESS_TOKEN']}"}


def _platform_env(proxied_url: str, data_dir: Path) -> dict[str, str]:
    from deployments.launcher import free_port

    (data_dir / "strategies").mkdir()
    return {
        "STRATEGIES_DIR": str(data_dir / "strategies"),
        "REDIS_URL": proxied_url,
        "IQFEED_LOOKUP_PORT": str(free_port()),
        "IQFEED_ADMIN_PORT": str(free_port()),
        "IQFEED_DERIVATIVE_PORT": str(free_port()),
        "IQFEED_LEVEL1_PORT": str(free_port()),
        "IQFEED_WATCHDOG_INTERVAL_S": "0.5",
        "IQFEED_TIMEOUT_S": "10",
        "DTN_PRODUCT_ID": "",
        "DTN_LOGIN": "",
        "DTN_PASSWORD": "",
        "SESSION_TIMEOUT_S": str(TEST_SESSION_TIMEOUT_S),
        "JANITOR_INTERVAL_S": str(TEST_JANITOR_INTERVAL_S),
        "DATA_DIR": str(data_dir),
        "RETRY_AFTER_S": "3",
        "INITIATE_LIMIT": "300",
        "INITIATE_WINDOW_S": "10",
        "MAX_LIVE_SESSIONS": "2000",
        "ACCESS_TOKEN": secrets.token_urlsafe(24),
    }


def _lan_url(base_url: str) -> str | None:
    import ray

    address = ray.util.get_node_ip_address()
    if address.startswith("127."):
        return None
    return base_url.replace("127.0.0.1", address)


@pytest.fixture(scope="session")
def platform(
    redis_url: str, redis_proxy: TcpFaultProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Ray + Serve running the real serve.yaml on a free port, settings from the environment."""
    from deployments.launcher import start_platform, stop_platform  # imports Serve

    _clear_platform_caches(redis_url)
    parts = urlsplit(redis_url)
    proxied = urlunsplit(parts._replace(netloc=f"127.0.0.1:{redis_proxy.port}"))
    env = _platform_env(proxied, tmp_path_factory.mktemp("data"))
    saved = {key: os.environ.get(key) for key in env}
    try:
        base_url = start_platform(env, host="0.0.0.0")  # reachable off loopback: see lan_url
        yield Platform(base_url, redis_url, redis_proxy, TEST_SESSION_TIMEOUT_S, env,
                       _lan_url(base_url))
    finally:
        stop_platform()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def feed_ready(platform: Platform) -> None:
    """The watchdog has the launched simulator up and connected."""
    from tests.support.launched_feed import watchdog_status
    from tests.support.polling import wait_for

    assert wait_for(lambda: watchdog_status()["state"] == "connected", 60), watchdog_status()


@pytest.fixture
def http(platform: Platform) -> Iterator[httpx.Client]:
    """An HTTP client against the Serve proxy, holding the platform's access token."""
    with httpx.Client(base_url=platform.base_url, timeout=30,
                      headers=platform.auth_headers) as client:
        yield client
