"""What every stateful ingress starts with: its settings, Redis and the session store."""

from __future__ import annotations

from fastapi import FastAPI

from deployments.common.http_app import configure
from deployments.common.redis_client import make_client, resolve_redis_url
from deployments.common.settings import Settings
from deployments.sessions.store import SessionStore
from deployments.sessions.workspaces import Workspaces


class Ingress:
    """Base of the ingresses that use Redis: configures the app's edge with ``settings`` and
    holds the settings, the Redis URL and pooled client, the session store and workspaces."""

    def __init__(self, api: FastAPI, settings: Settings) -> None:
        configure(api, settings)
        self._settings = settings
        self._redis_url = resolve_redis_url(settings)
        self._redis = make_client(self._redis_url)
        runs_ttl_s = settings.runs_ttl_days * 86400
        self._sessions = SessionStore(self._redis, settings.session_timeout_s, runs_ttl_s)
        self._workspaces = Workspaces(self._redis, runs_ttl_s)
