"""The ``optimize`` application (``/optimize``): jobs, grids, chunk tasks, results."""
