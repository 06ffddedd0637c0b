"""The Serve applications of serve.yaml, their docs, static pages and named actors."""

from __future__ import annotations

import httpx
import ray
from ray import serve
from ray.util.state import list_actors

from deployments import PLATFORM_NAMESPACE
from deployments.sessions.janitor import ACTOR_NAME as JANITOR
from tests.conftest import Platform
from tests.support.polling import wait_for


def test_serve_runs_every_application_of_serve_yaml(platform: Platform):
    apps = serve.status().applications
    assert {"frontend", "sessions"} <= set(apps)
    assert all(app.status == "RUNNING" for app in apps.values())


def test_each_application_exposes_openapi_docs(http: httpx.Client):
    for prefix, path in (("", "/health"), ("/utils/session", "/heartbeat")):
        schema = http.get(f"{prefix}/openapi.json")
        assert schema.status_code == 200
        assert path in schema.json()["paths"]
        assert http.get(f"{prefix}/docs").status_code == 200


def test_index_page_and_assets_are_served(http: httpx.Client):
    index = http.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert 'src="app.js"' in index.text
    assert http.get("/app.js").status_code == 200


def test_paths_outside_the_frontend_are_not_served(http: httpx.Client):
    for path in ("/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fpyproject.toml", "/no-such-page.js"):
        response = http.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"


def test_session_janitor_is_a_named_actor_that_sweeps(http: httpx.Client, platform: Platform,
                                                      feed_ready):  # "ok" needs the feed
    actors = list_actors(filters=[("name", "=", JANITOR), ("state", "=", "ALIVE")])
    assert len(actors) == 1
    janitor = ray.get_actor(JANITOR, namespace=PLATFORM_NAMESPACE)
    runs = ray.get(janitor.status.remote())["runs"]
    assert wait_for(lambda: ray.get(janitor.status.remote())["runs"] > runs, 5)
    health = http.get("/health").json()
    assert health["status"] == "ok"
    assert health["janitor"]["running"] is True
    assert health["redis"] == {"reachable": True, "embedded": False}
