"""Benchmarks: ``make bench`` (full, prints a table, writes JSON under bench/results/)."""
