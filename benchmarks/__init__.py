"""Reproducible performance runs against the fake WinRM server on 127.0.0.1 (not part of the test suite).

Run them all with `python -m benchmarks` from the repository root (README.md, "Performance", says what each one
measures and lists the figures it printed).
"""
