"""The ``historical`` application (``/historical``): chart requests, bar store, codec,
pre-aggregation."""
