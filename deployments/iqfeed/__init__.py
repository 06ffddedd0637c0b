"""The IQFeed actors: the feed (history connections), the watchdog, IQConnect launch, placement."""
