"""``python -m feeds.simulator``: run the IQFeed simulator until interrupted (or idle)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from feeds.simulator.server import IQFeedSimulator


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m feeds.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--lookup-port", type=int, default=9100)
    parser.add_argument("--admin-port", type=int, default=9300)
    parser.add_argument("--second-history-days", type=int, default=180,
                        help="days of 1-second and tick history served (0: unlimited)")
    parser.add_argument("--max-simultaneous", type=int, default=15,
                        help="history requests served at once before 'Too many simultaneous'")
    parser.add_argument("--idle-exit-s", type=float, default=0.0,
                        help="exit this long after the last client left, like IQConnect (0: never)")
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    simulator = IQFeedSimulator(
        args.host, args.lookup_port, args.admin_port,
        second_history_days=args.second_history_days,
        max_simultaneous=args.max_simultaneous,
        idle_exit_s=args.idle_exit_s,
    )
    await simulator.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Event loops without Unix signal support (Windows) raise here: Ctrl-C still ends it.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, lambda: loop.create_task(simulator.stop()))
    print(f"IQFeed simulator: lookup {args.host}:{simulator.lookup_port}, "
          f"admin {args.host}:{simulator.admin_port}", flush=True)
    await simulator.stopped.wait()


def main() -> None:
    """Parse the options and serve."""
    asyncio.run(_serve(_arguments()))


if __name__ == "__main__":
    main()
