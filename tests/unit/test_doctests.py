"""Every example written in a docstring (``>>>``) runs and gives what it shows; none skipped."""

from __future__ import annotations

import doctest
import importlib

import pytest

from deployments.common.settings import PROJECT_ROOT

PACKAGES = ("deployments", "feeds", "kernels", "strategies")


def _modules_with_examples() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            if ">>>" in path.read_text() and path.name != "__main__.py":
                parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
                found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


MODULES = _modules_with_examples()


def test_examples_exist_to_run():
    assert MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    source = (PROJECT_ROOT / (name.replace(".", "/") + ".py")).read_text()
    assert "+SKIP" not in source, f"{name}: an example is skipped"
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, result
