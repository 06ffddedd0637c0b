"""Imported bar files: the ``file:`` source (CSV/Parquet reading, validation, durable store)."""
