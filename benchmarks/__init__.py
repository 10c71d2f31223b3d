"""Runnable benchmarks: each prints a Markdown table; results are kept in docs/benchmarks.md."""
