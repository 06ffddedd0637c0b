"""The embedded Valkey server behind the ``embedded-redis`` actor (used when REDIS_URL is unset)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import ray
import redis

from deployments import PLATFORM_NAMESPACE
from deployments.common.embedded_redis import ACTOR_NAME, ensure_embedded_redis, servers_in
from deployments.common.redis_client import resolve_redis_url
from deployments.common.settings import Settings
from tests.conftest import Platform
from tests.support.polling import wait_for


def _stop_server() -> None:
    """Stop the cluster's embedded server (it saves its data) and its actor for good."""
    actor = ray.get_actor(ACTOR_NAME, namespace=PLATFORM_NAMESPACE)
    ray.get(actor.shutdown.remote())
    ray.kill(actor, no_restart=True)


def test_one_server_per_cluster_whose_data_survives_an_actor_crash(platform: Platform, tmp_path):
    url = ensure_embedded_redis(tmp_path)
    try:
        assert ensure_embedded_redis(tmp_path) == url, "a second caller gets the same server"
        assert resolve_redis_url(Settings(redis_url=None, data_dir=tmp_path)) == url
        client = redis.Redis.from_url(url)
        client.set("v1:test:survivor", b"bars")
        time.sleep(1.5)  # the append-only file is synced once a second


        actor = ray.get_actor(ACTOR_NAME, namespace=PLATFORM_NAMESPACE)
        ray.kill(actor, no_restart=False)  # the worker dies; Ray restarts the actor

        urls: list[str] = []

        def restarted() -> bool:
            try:
                if ray.get(actor.ping.remote(), timeout=10):
                    urls.append(ray.get(actor.url.remote(), timeout=10))
                    return True
            except ray.exceptions.RayError:  # still restarting
                pass
            return False

        assert wait_for(restarted, 60)
        assert urls[-1] == url, "clients keep a valid URL across restarts"
        # A connection from before the restart may have been reset with the old worker; a
        # client connecting to the same URL now finds the data.
        fresh = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        assert fresh.get("v1:test:survivor") == b"bars"
        assert any((tmp_path / "valkey").rglob("*.aof")), "writes go to the append-only file"
    finally:
        _stop_server()


def test_a_killed_server_is_relaunched_on_its_url_with_its_data(platform: Platform, tmp_path):
    url = ensure_embedded_redis(tmp_path)
    actor = ray.get_actor(ACTOR_NAME, namespace=PLATFORM_NAMESPACE)
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        client.set("v1:test:kept", b"session")
        time.sleep(1.5)  # the append-only file is synced once a second
        assert wait_for(lambda: len(servers_in(tmp_path / "valkey")) == 1, 10)
        (pid,) = servers_in(tmp_path / "valkey")
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()

        def answers() -> bool:
            try:
                return client.get("v1:test:kept") == b"session"
            except redis.RedisError:
                return False

        assert wait_for(answers, 10), "relaunched with its data within 10 s"
        print(f"embedded Valkey back after {time.monotonic() - killed:.1f} s")
        assert ray.get(actor.url.remote()) == url
        # The server answers a moment before the actor has counted the restart.
        assert wait_for(lambda: ray.get(actor.status.remote())["restarts"] == 1, 5)
        assert ray.get(actor.status.remote())["up"]
        assert not Path(f"/proc/{pid}").exists(), "the killed server was reaped"
    finally:
        _stop_server()


def test_the_server_requires_its_generated_password(platform: Platform, tmp_path):
    url = ensure_embedded_redis(tmp_path)
    actor = ray.get_actor(ACTOR_NAME, namespace=PLATFORM_NAMESPACE)
    try:
        folder = tmp_path / "valkey"
        password = (folder / "password").read_text()
        assert len(password) >= 32
        assert (folder / "password").stat().st_mode & 0o777 == 0o600
        assert folder.stat().st_mode & 0o777 == 0o700, "its config holds the password too"
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1" and parts.password == password
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=parts.port, socket_timeout=2).set("k", "v")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=parts.port, password="guess").ping()
        assert redis.Redis.from_url(url).ping()
        status = str(ray.get(actor.status.remote()))
        assert password not in status, "the status (shown on /health) never holds it"
    finally:
        _stop_server()
    # A restart keeps the password: the URL replicas hold stays valid.
    assert ensure_embedded_redis(tmp_path) == url
    _stop_server()
