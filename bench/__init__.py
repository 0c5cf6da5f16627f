"""Benchmarks: long load runs that print figures (`make bench`), not part of the test suite."""
