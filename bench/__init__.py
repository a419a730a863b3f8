"""agenthub's benchmarks: `python -m bench` (or `./dev bench`); see docs/benchmarks.md."""
