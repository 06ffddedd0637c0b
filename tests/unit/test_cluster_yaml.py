"""cluster.yaml passes Ray's own cluster-config validation, as ``ray up`` would run it."""

from __future__ import annotations

import copy

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from deployments.common.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def config() -> dict:
    """cluster.yaml as Ray prepares it (defaults of the AWS provider merged in)."""
    raw = yaml.safe_load((PROJECT_ROOT / "cluster.yaml").read_text())
    prepared = prepare_config(copy.deepcopy(raw))
    validate_config(prepared)
    return prepared


def test_node_types_head_gpu_and_cpu(config):
    types = config["available_node_types"]
    assert config["provider"]["type"] == "aws"
    assert set(types) == {"head", "gpu_worker", "cpu_worker"}
    assert config["head_node_type"] == "head"
    assert types["head"]["resources"].get("iqfeed_host") == 1
    assert "GPU" not in types["head"]["resources"]
    assert types["gpu_worker"]["resources"]["GPU"] >= 1
    assert "GPU" not in types["cpu_worker"]["resources"]
    assert types["gpu_worker"]["max_workers"] > 0 and types["cpu_worker"]["max_workers"] > 0
    # Jobs choose GPU only from nodes already up: one GPU node must be kept.
    assert types["gpu_worker"]["min_workers"] >= 1


def test_every_node_installs_the_project_and_finds_redis(config):
    assert any("make install" in command for command in config["setup_commands"])
    head = " ".join(config["head_setup_commands"] + config["head_start_ray_commands"])
    workers = " ".join(config["worker_start_ray_commands"])
    assert "redis-server" in head and "REDIS_URL=redis://127.0.0.1:6379" in head
    assert "REDIS_URL=redis://$RAY_HEAD_IP:6379" in workers
    assert config["head_start_ray_commands"][-1].endswith("serve deploy serve.yaml")
    assert "/home/ubuntu/trading-platform" in config["file_mounts"]


def test_a_broken_config_is_refused():
    raw = yaml.safe_load((PROJECT_ROOT / "cluster.yaml").read_text())
    raw["available_node_types"]["gpu_worker"]["resoures"] = {"GPU": 1}
    with pytest.raises(Exception, match="resoures"):
        validate_config(prepare_config(raw))
