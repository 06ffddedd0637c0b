"""Query parameters several routes take, typed with the constraints their OpenAPI declares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from deployments.common.fields import TOKEN_DESCRIPTION, TOKEN_PATTERN

SessionToken = Annotated[str, Query(pattern=TOKEN_PATTERN.pattern,
                                    description=TOKEN_DESCRIPTION)]
"""The ``session_token`` query parameter of the routes a session owns."""
