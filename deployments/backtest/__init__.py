"""The ``backtest`` application (``/backtest``): one strategy over one chart."""
