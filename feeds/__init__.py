"""Market-data sources: the IQFeed protocol client, the IQFeed simulator, synthetic markets."""
