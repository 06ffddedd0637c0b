"""``make run`` is closed to the network: ``ss -ltn`` shows nothing but loopback listeners.

Every listening TCP socket (IPv4 and IPv6) held by any process the launcher started (Ray's GCS,
raylet, dashboard and agents, workers and their gRPC servers, the Serve proxy, the embedded
Valkey, the IQFeed simulator) is read from ``/proc/net/tcp{,6}`` and the processes' open file
descriptors, as ``ss -ltnp`` does.
"""

from __future__ import annotations

from tests.support.launched_platform import LaunchedPlatform, tcp_listeners


def test_every_listener_of_the_launched_platform_is_on_loopback(launched: LaunchedPlatform):
    tree = launched.tree()
    listeners = tcp_listeners(set(tree))
    print(f"\n{len(listeners)} listeners of {len(tree)} processes")
    programs = {proc.pid: proc.command.split()[0] for proc in tree.values()}
    held_by = {programs.get(pid, "?") for listener in listeners for pid in listener.pids}
    exposed = [f"{listener} {[tree[pid].command[:80] for pid in listener.pids]}"
               for listener in listeners if not listener.on_loopback]
    assert not exposed, f"listening beyond loopback: {exposed}"
    # The check saw the platform's parts, not an empty table.
    assert any(listener.port == int(launched.env["HTTP_PORT"]) for listener in listeners)
    assert any(listener.port == int(launched.env["DASHBOARD_PORT"]) for listener in listeners)
    assert any("valkey-server" in program for program in held_by), held_by
