"""Start the platform in-process: a fresh local Ray cluster running the real ``serve.yaml``.

Used by the test harness and the benchmarks (``make run`` uses ``serve run serve.yaml``). The
HTTP port is chosen by the caller so that a running platform and a test run never collide;
settings reach every replica and actor through the environment the raylet inherits.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from pathlib import Path

import ray
import yaml
from ray import serve
from ray.serve._private import api as serve_api
from ray.serve.config import gRPCOptions
from ray.serve.schema import ServeDeploySchema

from deployments.common.settings import PROJECT_ROOT


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(base_url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        statuses = {name: app.status for name, app in serve.status().applications.items()}
        if any(status == "DEPLOY_FAILED" for status in statuses.values()):
            raise RuntimeError(f"serve.yaml failed to deploy: {serve.status().applications}")
        if statuses and all(status == "RUNNING" for status in statuses.values()):
            try:
                with urllib.request.urlopen(f"{base_url}/health", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
        time.sleep(0.5)
    raise TimeoutError(f"platform not healthy after {timeout_s}s: {serve.status()}")


IDLE_WORKERS = "8"
"""Idle Ray workers a local node keeps (Ray's default is its CPU count, 2 here): with the
platform's many actors, fewer would kill the warm workers of optimization chunk tasks
between jobs, and each job would pay for new processes importing and loading the kernels."""


def start_platform(
    env: dict[str, str],
    http_port: int | None = None,
    serve_yaml: Path = PROJECT_ROOT / "serve.yaml",
    timeout_s: float = 180.0,
) -> str:
    """Start Ray and deploy ``serve_yaml`` with ``env`` set; return the base URL once healthy."""
    os.environ.update(env)  # the raylet, and so every worker, inherits this environment
    os.environ.setdefault("RAY_num_workers_soft_limit", IDLE_WORKERS)
    http_port = http_port or free_port()
    ray.init(
        address="local",
        namespace="serve",
        include_dashboard=True,
        dashboard_port=free_port(),
        logging_level="WARNING",
    )
    config = yaml.safe_load(serve_yaml.read_text())
    config["http_options"].update(host="127.0.0.1", port=http_port)
    schema = ServeDeploySchema.model_validate(config)
    client = serve_api.serve_start(
        http_options=schema.http_options.model_dump(),
        grpc_options=gRPCOptions(**schema.grpc_options.model_dump()),
        proxy_location=schema.proxy_location,
        global_logging_config=schema.logging_config,
    )
    client.deploy_apps(schema)
    base_url = f"http://127.0.0.1:{http_port}"
    _wait_until_healthy(base_url, timeout_s)
    return base_url


def stop_platform() -> None:
    """Shut Serve down and disconnect from (and so stop) the local Ray cluster."""
    serve.shutdown()
    ray.shutdown()
