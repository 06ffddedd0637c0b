"""Chaos layer: parts of a running platform killed under load, and its recovery."""
