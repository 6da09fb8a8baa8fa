"""Benchmarks: run as ``python -m bench.NAME --help``; never part of the test suite."""
