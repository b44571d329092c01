"""Benchmarks for healthimaging-mcp: `python -m benchmarks` runs every suite and prints Markdown tables."""
