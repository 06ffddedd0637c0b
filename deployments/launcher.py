"""``make run``: a local Ray cluster running ``serve.yaml``, closed to the network by default.

The HTTP proxy, Ray's dashboard and every Ray port (GCS, raylets, workers, metrics) listen on
127.0.0.1 unless ``HOST`` names another address (``HOST=0.0.0.0`` opens the platform to the
network; set ``ACCESS_TOKEN`` then). Ray binds its own servers to loopback only when the node's
address is loopback, and it resolves a loopback node address to the machine's own unless told it
is a single-machine cluster (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read when Ray is imported):
so Ray is imported here only once that is decided. The same start is used by the test harness
and the benchmarks (:func:`start_platform`); Ctrl-C or SIGTERM stops it all.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from deployments.common.loopback_binds import is_loopback
from deployments.common.settings import PROJECT_ROOT, ConfigError, load_settings

IDLE_WORKERS = "8"
"""Idle Ray workers a local node keeps (Ray's default is its CPU count, 2 here): with the
platform's many actors, fewer would kill the warm workers of optimization chunk tasks
between jobs, and each job would pay for new processes importing and loading the kernels."""

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


SINGLE_MACHINE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _single_machine_on_loopback(host: str) -> None:
    """Keep a loopback node address loopback (must run before Ray is first imported; the
    test harness imports Ray earlier and so runs on the machine's address)."""
    if is_loopback(host) and "ray" not in sys.modules:
        os.environ.setdefault(SINGLE_MACHINE, "0")


def _loopback_node() -> dict[str, Any]:
    """``ray.init`` arguments that keep the node and its workers' servers on loopback."""
    return {"_node_ip_address": LOOPBACK,
            "runtime_env": {"worker_process_setup_hook":
                            "deployments.common.loopback_binds.bind_to_loopback"}}


def _wait_until_healthy(base_url: str, timeout_s: float) -> None:
    from ray import serve

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


def start_platform(
    env: dict[str, str] | None = None,
    http_port: int | None = None,
    host: str = LOOPBACK,
    dashboard_port: int | None = None,
    serve_yaml: Path = PROJECT_ROOT / "serve.yaml",
    timeout_s: float = 180.0,
) -> str:
    """Start a local Ray node and deploy ``serve_yaml`` with ``env`` set, its HTTP proxy and
    dashboard on ``host``; return the base URL (over loopback) once ``/health`` answers."""
    os.environ.update(env or {})  # the raylet, and so every worker, inherits this environment
    os.environ.setdefault("RAY_num_workers_soft_limit", IDLE_WORKERS)
    _single_machine_on_loopback(host)
    import ray
    from ray.serve._private import api as serve_api
    from ray.serve.config import gRPCOptions
    from ray.serve.schema import ServeDeploySchema

    http_port = http_port or free_port()
    ray.init(
        address="local",
        namespace="serve",
        include_dashboard=True,
        dashboard_host=host,
        dashboard_port=dashboard_port or free_port(),
        logging_level="WARNING",
        **(_loopback_node() if is_loopback(host) else {}),
    )
    config = yaml.safe_load(serve_yaml.read_text())
    config["http_options"].update(host=host, port=http_port)
    schema = ServeDeploySchema.model_validate(config)
    client = serve_api.serve_start(
        http_options=schema.http_options.model_dump(),
        grpc_options=gRPCOptions(**schema.grpc_options.model_dump()),
        proxy_location=schema.proxy_location,
        global_logging_config=schema.logging_config,
    )
    client.deploy_apps(schema)
    base_url = f"http://{LOOPBACK if host in ('0.0.0.0', '::') else host}:{http_port}"
    _wait_until_healthy(base_url, timeout_s)
    return base_url


def stop_platform() -> None:
    """Shut Serve down and disconnect from (and so stop) the local Ray cluster."""
    import ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _stop_on(*signums: int) -> None:
    # SIGINT too, explicitly: a job started in the background ignores it otherwise.
    for signum in signums:
        signal.signal(signum, _stop_on_signal)


def main() -> int:
    """Run the platform in the foreground until Ctrl-C or SIGTERM."""
    try:
        settings = load_settings()
        if settings.market_replay and settings.market_replay_origin is None:
            # One market clock for every process: the replay starts now, for all of them.
            os.environ["MARKET_REPLAY_ORIGIN"] = repr(time.time())
            settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    _stop_on(signal.SIGTERM, signal.SIGINT)
    try:
        url = start_platform(http_port=settings.http_port, host=settings.host,
                             dashboard_port=settings.dashboard_port)
        _stop_on(signal.SIGTERM, signal.SIGINT)  # again: ray.init installs its own handlers
        replay = (f"; replaying {settings.market_replay} at {settings.market_replay_speed:g}x"
                  if settings.market_replay else "")
        print(f"platform up: {url}/ (dashboard on {settings.host}:{settings.dashboard_port})"
              f"{replay}; Ctrl-C stops it", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping the platform", flush=True)
    finally:
        if "ray" in sys.modules:
            stop_platform()
    return 0


if __name__ == "__main__":
    sys.exit(main())
