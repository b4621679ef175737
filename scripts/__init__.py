"""Runnable scripts beside the package: benchmarks and experiments (`scripts/benchmarks/`)."""
