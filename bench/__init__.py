"""Benchmarks: `make bench` (python -m bench) runs each module's `main()` and prints figures."""
