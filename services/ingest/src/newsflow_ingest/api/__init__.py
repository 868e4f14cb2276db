"""Routers of the ingest API (internal: the gateway fronts it)."""
