"""Benchmark suites, run with ``ekyc bench``. Each returns a JSON-ready report."""
