"""Typed failures of the IQFeed client; messages never contain credentials."""

from __future__ import annotations


class FeedError(Exception):
    """Base class of every IQFeed client error."""


class SymbolNotFound(FeedError):
    """IQFeed answered ``Invalid symbol.``: the symbol does not exist (HTTP 404)."""


class FeedUnavailable(FeedError):
    """IQConnect is down, refused the connection, dropped it, or is not authorised (HTTP 503)."""


class FeedTimeout(FeedError):
    """A request got no complete answer within its timeout (HTTP 503)."""


class ProtocolError(FeedError):
    """A line that does not follow the protocol, or a request IQFeed called a syntax error."""


class TooManyRequests(FeedError):
    """IQFeed said ``Too many simultaneous history requests``; retried with backoff inside."""
