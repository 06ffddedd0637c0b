"""Everything that runs on Ray: Serve applications, named actors and the Redis stores they use."""

PLATFORM_NAMESPACE = "trading"
"""Ray namespace of the platform's named, detached actors (so every app finds the same ones)."""
