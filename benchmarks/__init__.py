"""Benchmarks: each module runs side by side with its anchor and prints a markdown table."""
