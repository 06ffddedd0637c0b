"""The ``runs`` application (``/runs``): stored backtests, kept across sessions in a workspace."""
