"""``python -m deployments.data import FILE --symbol NAME --tz ZONE``: import over HTTP.

The command posts the file to a running platform's ``POST /data/import`` (``--url``, default
``http://127.0.0.1:8000``; the ``ACCESS_TOKEN`` of the environment when set), streaming it
from disk, and prints the progress the platform reports until the answer comes.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import threading
import time
from pathlib import Path

import httpx

POLL_S = 0.5


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deployments.data")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("import", help="import a CSV or Parquet file of OHLCV bars")
    run.add_argument("file", type=Path)
    run.add_argument("--symbol", required=True, help="stored as file:<SYMBOL>")
    run.add_argument("--tz", default="America/New_York", help="zone of times without offset")
    run.add_argument("--resolution", default="", help="bar length, e.g. 1m (default: detect)")
    run.add_argument("--session", default="", help="regular hours, e.g. 09:30-16:00")
    run.add_argument("--url", default=os.environ.get("PLATFORM_URL", "http://127.0.0.1:8000"))
    run.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait")
    return parser.parse_args(argv)


def _headers() -> dict[str, str]:
    token = os.environ.get("ACCESS_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _follow(client: httpx.Client, import_id: str, done: threading.Event) -> None:
    """Print the platform's progress of the import until ``done``."""
    shown = ""
    while not done.wait(POLL_S):
        try:
            answer = client.get(f"/data/imports/{import_id}")
        except httpx.HTTPError:
            continue
        if answer.status_code != 200:
            continue
        state = answer.json()
        line = f"{state['state']}: {state['rows']:,} rows, {100 * state['fraction']:.0f}%"
        if line != shown:
            print(line, file=sys.stderr, flush=True)
            shown = line


def import_command(args: argparse.Namespace) -> int:
    """Upload the file and print the answer (JSON); exit status 0 on success."""
    if not args.file.is_file():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    import_id = secrets.token_urlsafe(12)
    fields = {"symbol": args.symbol, "timezone": args.tz, "resolution": args.resolution,
              "session": args.session, "import_id": import_id}
    done = threading.Event()
    with httpx.Client(base_url=args.url, headers=_headers(), timeout=args.timeout) as client:
        follower = threading.Thread(target=_follow, args=(client, import_id, done), daemon=True)
        follower.start()
        started = time.monotonic()
        try:
            with args.file.open("rb") as handle:
                answer = client.post("/data/import", data=fields,
                                     files={"file": (args.file.name, handle)})
        except httpx.HTTPError as error:
            print(f"the platform at {args.url} did not answer: {error}", file=sys.stderr)
            return 1
        finally:
            done.set()
            follower.join()
    body = answer.json() if answer.headers.get("content-type", "").startswith(
        "application/json") else {"error": answer.text}
    print(json.dumps(body, indent=2))
    if answer.status_code != 200:
        return 1
    rate = body["bars"] / max(time.monotonic() - started, 1e-9)
    print(f"imported {body['bars']:,} bars as {body['symbol']} ({rate:,.0f} rows/s)",
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    args = _arguments(sys.argv[1:] if argv is None else argv)
    return import_command(args)
