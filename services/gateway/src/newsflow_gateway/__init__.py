"""newsflow-gateway: The one public door: HTTP API, web pages, auth, rate limits, live streams."""
