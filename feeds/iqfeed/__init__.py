"""Our asyncio client for DTN IQFeed's lookup (history) and admin ports."""

from feeds.iqfeed.client import IQFeedClient
from feeds.iqfeed.errors import (
    FeedError,
    FeedTimeout,
    FeedUnavailable,
    ProtocolError,
    SymbolNotFound,
)

__all__ = [
    "FeedError",
    "FeedTimeout",
    "FeedUnavailable",
    "IQFeedClient",
    "ProtocolError",
    "SymbolNotFound",
]
