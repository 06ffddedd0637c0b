"""The ``frontend`` application (``/``): the web app's files and ``/health``."""
