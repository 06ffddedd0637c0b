"""Imported bars reach every node: the store's actor sits on the head, callers anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import redis

from deployments.common.settings import PROJECT_ROOT


def test_a_worker_node_imports_and_reads_through_the_head_nodes_store(redis_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    run = subprocess.run([sys.executable, "-m", "tests.cluster.imported_bars_cluster"],
                         cwd=PROJECT_ROOT, env={**env, "REDIS_URL": redis_url},
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["actor_node"] == report["head_node"] != report["worker_node"]
    assert report["node"] == report["worker_node"]
    assert report["bars"] == 780 and report["equal"] and report["on_head_disk"]
    assert redis.Redis.from_url(redis_url).hexists("v1:data:catalog", "file:CLU")
    redis.Redis.from_url(redis_url).hdel("v1:data:catalog", "file:CLU")
