"""Request parameters several routes take, typed with the constraints their OpenAPI declares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from deployments.common.fields import SESSION_HEADER, TOKEN_DESCRIPTION, TOKEN_PATTERN

SessionToken = Annotated[str, Header(alias=SESSION_HEADER, pattern=TOKEN_PATTERN.pattern,
                                     description=TOKEN_DESCRIPTION)]
"""The ``X-Session-Token`` header of the routes a session owns."""
