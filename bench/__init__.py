"""Benchmarks (`make bench`): modules listed in bench/__main__.py BENCHES, each with a `main()`."""
