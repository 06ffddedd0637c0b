"""Keep every Ray server of a single-machine platform on loopback.

Ray binds its own servers to the node's address, and to loopback when that is 127.0.0.1
(see :mod:`deployments.launcher`), with one exception in Ray Serve 2.60: each replica's
inter-deployment gRPC server listens on ``[::]:0``, every interface, with no setting to change
it. :func:`bind_to_loopback` runs in each worker process (Ray's ``worker_process_setup_hook``)
before a replica is created and narrows such all-interface gRPC addresses to 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from typing import Any

_ALL_INTERFACES = ("[::]:", "0.0.0.0:")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_address(address: str) -> str:
    """``address`` with an all-interfaces host replaced by 127.0.0.1.

    >>> loopback_address("[::]:0"), loopback_address("10.0.0.5:9000")
    ('127.0.0.1:0', '10.0.0.5:9000')
    """
    for prefix in _ALL_INTERFACES:
        if address.startswith(prefix):
            return "127.0.0.1:" + address[len(prefix):]
    return address


def bind_to_loopback() -> None:
    """Make Ray's gRPC port helper bind all-interface addresses on loopback (worker setup)."""
    from ray._common import tls_utils

    original = tls_utils.add_port_to_grpc_server
    if getattr(original, "loopback_only", False):
        return

    def add_port(server: Any, address: str) -> int:
        return original(server, loopback_address(address))

    add_port.loopback_only = True  # type: ignore[attr-defined]
    tls_utils.add_port_to_grpc_server = add_port
