"""The ``data`` application and the actor that owns the imported bars (the ``file:`` source)."""
