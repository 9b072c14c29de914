"""Benchmarks (not tests): digest speed, cost and memory; run `python -m benchmarks`."""
