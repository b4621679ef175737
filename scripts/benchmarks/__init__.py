"""Benchmarks and experiments: run from the project root, e.g.
`python -m scripts.benchmarks.training_throughput --help`. Logs: `scripts/benchmarks/results/`."""
