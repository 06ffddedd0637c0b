"""A reader of a platform's server-sent event stream, for tests: a thread reads the stream over
real HTTP and keeps each event with the (monotonic) time it arrived."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Event:
    name: str
    data: dict[str, Any]
    at: float


@dataclass
class EventStream:
    """``GET path`` with ``params`` and ``headers`` read in a thread until :meth:`close`."""

    client: httpx.Client
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    events: list[Event] = field(default_factory=list)
    status_code: int | None = None
    error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> EventStream:
        """Open the stream (returns once the thread runs)."""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        try:
            with self.client.stream("GET", self.path, params=self.params, headers=self.headers,
                                    timeout=httpx.Timeout(10, read=60)) as answer:
                self.status_code = answer.status_code
                name, data = "message", []
                for line in answer.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "":
                        if data:
                            self.events.append(Event(name, json.loads("".join(data)),
                                                     time.monotonic()))
                        name, data = "message", []
        except httpx.HTTPError as error:
            self.error = f"{type(error).__name__}: {error}"

    def named(self, name: str) -> list[Event]:
        """The events called ``name`` so far."""
        return [event for event in list(self.events) if event.name == name]

    def wait(self, test, timeout_s: float) -> bool:
        """Until ``test(self)`` holds (True) or ``timeout_s`` passed (False)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if test(self):
                return True
            if self._thread is not None and not self._thread.is_alive():
                return test(self)
            time.sleep(0.1)
        return test(self)

    def final_bars(self) -> dict[int, dict[str, Any]]:
        """The last version of each final bar, by ``t``."""
        return {event.data["t"]: event.data for event in self.named("bar")
                if event.data["final"]}

    def close(self) -> None:
        """Stop reading (the thread ends at the next line, a keep-alive at the latest)."""
        self._stop.set()
