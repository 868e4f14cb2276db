"""HTTP routers of the index API, one per resource."""
