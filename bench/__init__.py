"""The benchmark harness: `python -m bench [--quick]` (see README, "Performance")."""
