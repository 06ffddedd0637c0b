"""Shared by every application: settings, Redis, errors, the HTTP edge, named actors."""
