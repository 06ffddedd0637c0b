"""Platform layer: a session for a module's requests (``platform`` and ``http`` are in
tests/conftest.py, shared with the browser layer)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Platform
from tests.support.session_calls import initiate


@pytest.fixture(scope="module")
def token(platform: Platform) -> str:
    """A session for this module's requests."""
    with httpx.Client(base_url=platform.base_url, headers=platform.auth_headers) as http:
        return initiate(http)
