"""Fault switches of the IQFeed simulator, settable in-process or over its admin port."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class SimulatorFaults:
    """What the simulator does wrong on purpose; all off by default."""

    refuse: bool = False
    """Drop the open lookup connections and close every new one at once (set over the admin
    port), as if IQConnect were going down."""
    drop_after_lines: int = 0
    """When > 0, close the connection after this many data lines of an answer."""
    delay_s: float = 0.0
    """Wait this long before answering each history request."""
    not_connected: bool = False
    """Report ``Not Connected`` in the admin port's status."""
    too_many: int = 0
    """Answer the next N history requests with ``Too many simultaneous history requests``."""

    def clear(self) -> None:
        """Switch every fault off."""
        for item in fields(self):
            setattr(self, item.name, item.default)

    def set(self, name: str, value: str) -> None:
        """Set fault ``name`` (``drop_after_lines``...) from text; KeyError if unknown."""
        for item in fields(self):
            if item.name == name.lower():
                kind = type(item.default)
                setattr(self, item.name, value not in ("0", "", "false") if kind is bool
                        else kind(value))
                return
        raise KeyError(name)
