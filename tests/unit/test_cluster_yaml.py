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
    assert "redis-server" in head and "REDIS_URL=redis://:%s@127.0.0.1:6379" in head
    assert "REDIS_URL=redis://:$REDIS_PASSWORD@$RAY_HEAD_IP:6379" in workers
    assert config["head_start_ray_commands"][-1].endswith("serve deploy serve.cluster.yaml")
    assert "/home/ubuntu/trading-platform" in config["file_mounts"]


def test_the_cluster_runs_behind_an_access_token_and_a_redis_password(config):
    head = config["head_setup_commands"]
    guard = next(command for command in head if "make cluster-secrets" in command)
    assert "ACCESS_TOKEN" in guard and "REDIS_PASSWORD" in guard and "exit 1" in guard
    assert head.index(guard) < min(i for i, command in enumerate(head) if "redis-server" in command)
    assert any("requirepass $REDIS_PASSWORD" in command for command in head)
    assert any("ACCESS_TOKEN=%s" in command for command in head)
    assert "protected-mode no" not in " ".join(head)
    assert config["file_mounts"]["/home/ubuntu/.trading-platform-secrets"] == ".env.cluster"


def test_a_broken_config_is_refused():
    raw = yaml.safe_load((PROJECT_ROOT / "cluster.yaml").read_text())
    raw["available_node_types"]["gpu_worker"]["resoures"] = {"GPU": 1}
    with pytest.raises(Exception, match="resoures"):
        validate_config(prepare_config(raw))
