"""The command that starts IQConnect (or, without DTN credentials, the IQFeed simulator).

The real command carries the DTN credentials on its command line; :attr:`LaunchCommand.display`
is the form that may be logged or shown, with the product id, login and password masked.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field

from deployments.common.settings import Settings

MASK = "********"


@dataclass(frozen=True)
class LaunchCommand:
    """What to run, a printable form without secrets, and which program it is."""

    argv: list[str] = field(repr=False)
    display: str
    program: str


def launch_command(settings: Settings, idle_exit_s: float = 5.0) -> LaunchCommand:
    """IQConnect under wine (and xvfb-run when available) with credentials, else the simulator."""
    if settings.has_dtn_credentials:
        prefix = ["xvfb-run", "-a"] if shutil.which("xvfb-run") else []
        program = [*prefix, "wine", settings.iqconnect_exe]

        def arguments(product: str, login: str, password: str) -> list[str]:
            return [
                "-product", product, "-version", settings.dtn_product_version,
                "-login", login, "-password", password, "-autoconnect",
            ]

        secret = settings.dtn_password.get_secret_value()
        return LaunchCommand(
            argv=[*program, *arguments(settings.dtn_product_id, settings.dtn_login, secret)],
            display=" ".join([*program, *arguments(MASK, MASK, MASK)]),
            program="IQConnect",
        )
    argv = [
        sys.executable, "-m", "feeds.simulator",
        "--host", settings.iqfeed_host,
        "--lookup-port", str(settings.iqfeed_lookup_port),
        "--admin-port", str(settings.iqfeed_admin_port),
        "--derivative-port", str(settings.iqfeed_derivative_port),
        "--level1-port", str(settings.iqfeed_level1_port),
        "--idle-exit-s", str(idle_exit_s),
    ]
    clock = settings.market_clock()
    if clock.replaying:
        argv += ["--replay", settings.market_replay, "--speed", f"{clock.speed:g}",
                 "--replay-origin", repr(clock.origin)]
    return LaunchCommand(argv=argv, display=" ".join(argv), program="IQFeed simulator")
