"""Segments in the hub: the customer metrics stored per run, declarative segments, and the report over them."""
