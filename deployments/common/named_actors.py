"""Get-or-create for the platform's named, detached actors (one of each per cluster)."""

from __future__ import annotations

from typing import Any

import ray

from deployments import PLATFORM_NAMESPACE


def get_or_create(
    actor_class: Any, name: str, *args: Any, **options: Any
) -> ray.actor.ActorHandle:
    """The live actor called ``name`` in the platform namespace, created from ``actor_class``
    with ``args`` (and extra Ray ``options``) if it does not exist yet."""
    return actor_class.options(
        name=name,
        namespace=PLATFORM_NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        **options,
    ).remote(*args)
