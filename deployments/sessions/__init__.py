"""The ``sessions`` application (``/utils/session``), the session store and its janitor."""
