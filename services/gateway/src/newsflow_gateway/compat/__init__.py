"""Fitting the news ecosystem: the NewsAPI-compatible ``/v2`` (docs/compat.md)."""
