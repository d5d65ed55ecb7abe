"""The benchmark harness: `python -m bench [--quick]` (docs/performance.md)."""
