"""The layout's promises: pure modules import no Ray, Redis or web framework; settings are
never read at import time; every application is built from serve.yaml by its builder."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from deployments.common.settings import PROJECT_ROOT

PURE_MODULES = [
    "deployments.common.errors",
    "deployments.common.settings",
    "deployments.charts.request",
    "deployments.charts.payload",
    "deployments.charts.bar_codec",
    "deployments.charts.builder",
    "deployments.charts.tiers",
    "deployments.backtest.request",
    "deployments.backtest.result",
    "deployments.backtest.metric_values",
    "deployments.optimize.grid",
    "deployments.optimize.result",
    "deployments.data.request",
    "deployments.runs.record",
    "deployments.runs.downloads",
    "feeds.files.bar_file",
    "feeds.files.validation",
    "feeds.files.store",
    "feeds.files.importing",
]
FORBIDDEN = ("ray", "redis", "fastapi", "starlette", "uvicorn", "httpx")


def _imported_roots(module: str, env: dict[str, str] | None = None) -> set[str]:
    """Top-level packages loaded by importing ``module`` in a fresh interpreter."""
    code = f"import sys, {module}; print(' '.join({{n.split('.')[0] for n in sys.modules}}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, env=env, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_ray_redis_or_web_framework(module):
    assert not _imported_roots(module) & set(FORBIDDEN)


def test_no_application_reads_settings_at_import_time():
    # An invalid setting would fail an import that read the settings.
    env = {"PATH": "/usr/bin:/bin", "SESSION_TIMEOUT_S": "not-a-number",
           "HOME": str(PROJECT_ROOT)}
    for app in ("frontend", "sessions", "charts", "strategies", "backtest", "optimize", "data",
                "runs"):
        assert "ray" in _imported_roots(f"deployments.{app}.app", env)


def test_serve_yaml_names_a_builder_for_every_application():
    config = yaml.safe_load((PROJECT_ROOT / "serve.yaml").read_text())
    for app in config["applications"]:
        module, _, attr = app["import_path"].partition(":")
        assert module.startswith("deployments.") and module.endswith(".app")
        assert attr == "build", app["name"]
