"""Benchmarks against the real local stack; each prints figures next to a baseline from the same run."""
