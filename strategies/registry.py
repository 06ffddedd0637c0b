"""Finds the strategies: every module of this package (and of an optional extra directory)
that defines ``STRATEGY``. A module that fails to import is reported with its error; the others
still load. Adding a strategy is adding one file.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from strategies.spec import StrategySpec

_FRAMEWORK = {"spec", "registry"}


@dataclass
class Registry:
    """Strategies by name, and the modules that could not be loaded with their errors."""

    strategies: dict[str, StrategySpec] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def add(self, origin: str, module: object) -> None:
        """Register ``module``'s STRATEGY, or record why it cannot be registered."""
        spec = getattr(module, "STRATEGY", None)
        if not isinstance(spec, StrategySpec):
            self.failures[origin] = "defines no STRATEGY = StrategySpec(...)"
        elif spec.name in self.strategies:
            self.failures[origin] = f"strategy name {spec.name!r} is already taken"
        else:
            self.strategies[spec.name] = spec


def _error(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def extra_dir_stamp(extra_dir: Path | None) -> tuple:
    """Names and modification times of the extra directory's modules: changes when a file is
    dropped in, edited or removed."""
    if extra_dir is None or not extra_dir.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in extra_dir.glob("*.py")))


def load_registry(extra_dir: Path | None = None) -> Registry:
    """Import every strategy module; never raises for a broken strategy file."""
    registry = Registry()
    package = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: m.name):
        if info.name in _FRAMEWORK or info.name.startswith("_"):
            continue
        try:
            registry.add(info.name, importlib.import_module(f"strategies.{info.name}"))
        except Exception as exc:  # a broken strategy must not take the others down
            registry.failures[info.name] = _error(exc)
    if extra_dir is not None and extra_dir.is_dir():
        for path in sorted(extra_dir.glob("*.py")):
            if path.name.startswith("_"):
                continue
            try:
                name = f"extra_strategy_{path.stem}"
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module  # dataclasses and pickling look modules up here
                spec.loader.exec_module(module)
                registry.add(str(path), module)
            except Exception as exc:
                registry.failures[str(path)] = _error(exc)
    return registry


class LiveRegistry:
    """The registry, reloaded when a file in the extra directory is added, edited or removed."""

    def __init__(self, extra_dir: Path | None) -> None:
        self._extra_dir = extra_dir
        self._stamp = extra_dir_stamp(extra_dir)
        self._registry = load_registry(extra_dir)

    def current(self) -> Registry:
        """The registry as of now."""
        stamp = extra_dir_stamp(self._extra_dir)
        if stamp != self._stamp:
            self._stamp, self._registry = stamp, load_registry(self._extra_dir)
        return self._registry
