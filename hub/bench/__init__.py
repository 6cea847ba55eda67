"""Benchmarks that compare the hub's matcher with external baselines on the same records."""
