"""Optimization jobs in Redis: the record any replica reads, and its guarded status changes.

Layout (under the ``v1:`` prefix):

- ``v1:optimize:job:<id>``          hash: session, workspace, status, done, total, times, error,
                                    device, objective, request (JSON) and, once done, result
                                    (JSON); kept RUNS_TTL_DAYS like the workspace's runs, so a
                                    job outlives the session that started it (any session of
                                    its workspace follows, cancels or reads it)
- ``v1:optimize:active:<token>``    set of the session's job ids (queued or running ones count),
                                    owned by the session

Status moves queued -> running -> succeeded | failed, or to cancelled from queued or running;
a change applies only from the states it names, so a cancel and a finishing job cannot both
win, and nothing is written for a job whose record is gone (expired with its session).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from deployments.common.errors import TooManyRequests
from deployments.common.redis_client import KEY_PREFIX, redis_guard
from deployments.sessions.store import SessionStore

ACTIVE = ("queued", "running")
TERMINAL = ("succeeded", "failed", "cancelled")

# KEYS[1] job hash; ARGV[1] allowed current statuses joined by ',' ('*' = any); then pairs.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] ~= '*' then
  local status = redis.call('HGET', KEYS[1], 'status')
  if not string.find(',' .. ARGV[1] .. ',', ',' .. status .. ',', 1, true) then return 0 end
end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS[1] the session's active set, KEYS[2] the new job hash; ARGV[1] limit, ARGV[2] job id,
# ARGV[3] key prefix of job hashes, ARGV[4] TTL; then the new hash's field/value pairs.
_ADMIT = """
local active = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local status = redis.call('HGET', ARGV[3] .. id, 'status')
  if status == 'queued' or status == 'running' then active = active + 1
  else redis.call('SREM', KEYS[1], id) end
end
if active >= tonumber(ARGV[1]) then return active end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return -1
"""

JOB_PREFIX = f"{KEY_PREFIX}optimize:job:"


def job_key(job_id: str) -> str:
    """Redis key of job ``job_id``'s record."""
    return f"{JOB_PREFIX}{job_id}"


def active_key(token: str) -> str:
    """Redis key of the set of session ``token``'s jobs."""
    return f"{KEY_PREFIX}optimize:active:{token}"


def new_job_id() -> str:
    """A fresh, unguessable job id (URL- and Ray-name-safe)."""
    return secrets.token_hex(8)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


def _float(value: bytes | None) -> float | None:
    return None if value in (None, b"") else float(value)


class JobStore:
    """Reads and changes job records; every call may raise StateUnavailable."""

    def __init__(self, client: aioredis.Redis, sessions: SessionStore | None = None) -> None:
        self._redis = client
        self._sessions = sessions
        self._update = client.register_script(_UPDATE)
        self._admit = client.register_script(_ADMIT)

    async def create(self, token: str, workspace: str, request: dict[str, Any],
                     admitted: dict[str, Any], total: int, objective: str, limit: int,
                     ttl_s: int) -> str:
        """Record a queued job of session ``token`` in ``workspace``, kept ``ttl_s``, with
        what admission established (``admitted``: the validated chart, its bar count);
        TooManyRequests (429) when the session already has ``limit`` jobs queued or running."""
        job_id = new_job_id()
        fields = {"session": token, "workspace": workspace, "status": "queued", "done": 0,
                  "total": total,
                  "created_at": time.time(), "objective": objective,
                  "request": orjson.dumps(request), "admitted": orjson.dumps(admitted)}
        args: list[Any] = [limit, job_id, JOB_PREFIX, ttl_s]
        for name, value in fields.items():
            args += [name, value]
        async with redis_guard():
            active = await self._admit(keys=[active_key(token), job_key(job_id)], args=args)
        if active >= 0:
            raise TooManyRequests(f"{active} optimization jobs of this session are queued or "
                                  f"running (at most {limit}); wait or cancel one")
        if self._sessions is not None:
            async with redis_guard(), self._redis.pipeline(transaction=True) as pipe:
                self._sessions.queue_register(pipe, token, active_key(token))
                await pipe.execute()
        return job_id

    async def update(self, job_id: str, allowed: tuple[str, ...] | str, **fields: Any) -> bool:
        """Set ``fields`` if the job exists and its status is one of ``allowed`` ('*': any);
        True when applied."""
        args: list[Any] = [",".join(allowed) if isinstance(allowed, tuple) else allowed]
        for name, value in fields.items():
            args += [name, orjson.dumps(value) if isinstance(value, dict | list) else
                     ("" if value is None else value)]
        async with redis_guard():
            return bool(await self._update(keys=[job_key(job_id)], args=args))

    async def request(self, job_id: str) -> dict[str, Any] | None:
        """The job's request body, what admission established, its session and status, or
        None if the job is gone."""
        async with redis_guard():
            raw, admitted, session, status = await self._redis.hmget(
                job_key(job_id), "request", "admitted", "session", "status")
        if raw is None:
            return None
        return {"request": orjson.loads(raw), "admitted": orjson.loads(admitted or b"{}"),
                "session": _text(session), "status": _text(status)}

    async def status(self, job_id: str) -> str | None:
        """The job's status, or None if the job is gone."""
        async with redis_guard():
            return _text(await self._redis.hget(job_key(job_id), "status"))

    async def view(self, job_id: str, with_result: bool = True) -> dict[str, Any] | None:
        """What ``GET /optimize/{job_id}`` answers (with ``session`` and ``workspace``, which
        the route takes out), or None."""
        names = ["session", "workspace", "status", "done", "total", "created_at", "started_at",
                 "finished_at", "error", "objective", "device"]
        if with_result:
            names.append("result")
        async with redis_guard():
            values = await self._redis.hmget(job_key(job_id), *names)
        raw = dict(zip(names, values, strict=True))
        if raw["status"] is None:
            return None
        done, total = int(raw["done"] or 0), int(raw["total"] or 0)
        started, finished = _float(raw["started_at"]), _float(raw["finished_at"])
        eta = None
        status = _text(raw["status"])
        if status == "running" and started and 0 < done < total:
            eta = round((time.time() - started) / done * (total - done), 1)
        view = {
            "job_id": job_id, "session": _text(raw["session"]),
            "workspace": _text(raw["workspace"]), "status": status,
            "progress": {"done": done, "total": total},
            "created_at": _float(raw["created_at"]), "started_at": started,
            "finished_at": finished, "eta_s": eta, "error": _text(raw["error"]) or None,
            "objective": _text(raw["objective"]), "device": _text(raw["device"]) or None,
        }
        if with_result:
            view["result"] = orjson.loads(raw["result"]) if raw["result"] else None
        return view

    async def active_jobs(self) -> list[str]:
        """Ids of every queued or running job of any session (for a restarted scheduler)."""
        ids = []
        async with redis_guard():
            async for key in self._redis.scan_iter(match=f"{JOB_PREFIX}*", count=500):
                if _text(await self._redis.hget(key, "status")) in ACTIVE:
                    ids.append(key.decode()[len(JOB_PREFIX):])
        return ids
