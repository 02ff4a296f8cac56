"""Benchmarks: ``python -m bench.run`` (or ``make bench``); results in bench/RESULTS.md."""
