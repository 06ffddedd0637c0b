"""The ``strategies`` application (``/strategies``): the strategy registry over HTTP."""
