"""``python -m feeds.simulator``: run the IQFeed simulator until interrupted (or idle)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time

from feeds.market_clock import WALL_CLOCK, MarketClock, parse_replay_start
from feeds.simulator.server import IQFeedSimulator


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m feeds.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--lookup-port", type=int, default=9100)
    parser.add_argument("--admin-port", type=int, default=9300)
    parser.add_argument("--derivative-port", type=int, default=9400,
                        help="interval-bar streaming port (IQConnect's 9400)")
    parser.add_argument("--level1-port", type=int, default=5009,
                        help="Level 1 streaming port (IQConnect's 5009)")
    parser.add_argument("--replay", metavar="DATE",
                        help="replay a past session (2026-11-20, from its open, or an Eastern "
                             "date-time 2026-11-20T10:15) instead of the live market")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="how many times faster than real time the replay runs")
    parser.add_argument("--replay-origin", type=float, default=None,
                        help="wall-clock UTC second the replay started at (default: now), so "
                             "a relaunched simulator resumes the same replay")
    parser.add_argument("--second-history-days", type=int, default=180,
                        help="days of 1-second and tick history served (0: unlimited)")
    parser.add_argument("--max-simultaneous", type=int, default=15,
                        help="history requests served at once before 'Too many simultaneous'")
    parser.add_argument("--idle-exit-s", type=float, default=0.0,
                        help="exit this long after the last client left, like IQConnect (0: never)")
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    clock = WALL_CLOCK
    if args.replay:
        try:
            start = parse_replay_start(args.replay)
        except ValueError as error:
            raise SystemExit(f"--replay: {error}") from None
        if args.speed <= 0:
            raise SystemExit("--speed must be above 0")
        clock = MarketClock(start, args.speed, args.replay_origin or time.time())
    simulator = IQFeedSimulator(
        args.host, args.lookup_port, args.admin_port,
        derivative_port=args.derivative_port, level1_port=args.level1_port, clock=clock.now,
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
    replay = f", replaying {args.replay} at {args.speed:g}x" if args.replay else ""
    print(f"IQFeed simulator: lookup {args.host}:{simulator.lookup_port}, "
          f"admin {args.host}:{simulator.admin_port}, "
          f"derivative {args.host}:{simulator.derivative_port}, "
          f"level1 {args.host}:{simulator.level1_port}{replay}", flush=True)
    await simulator.stopped.wait()


def main() -> None:
    """Parse the options and serve."""
    asyncio.run(_serve(_arguments()))


if __name__ == "__main__":
    main()
