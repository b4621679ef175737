"""Helpers for tests, demos and benchmarks: `from_scratch` builds tiny encoders offline."""
