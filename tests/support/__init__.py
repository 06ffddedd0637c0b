"""Helpers shared by the test layers and the benchmarks: the local platform, proxies, polling."""
