"""Limits of the read API, declared once: the gateway refuses what the index would refuse, with the same numbers.

The public door (gateway) validates first so a client learns the limit from the API it calls, and the
index enforces the same values for any other caller.
"""

SEARCH_QUERY_MAX_CHARS = 256  # `q` of a search (and of a live-stream filter)
SUGGEST_QUERY_MAX_CHARS = 100  # `q` of title suggestions
PAGE_SIZE_MAX = 50  # `size` of a search or latest page
CURSOR_MAX_CHARS = 2048  # a `next_cursor` handed back (a search cursor carries a point-in-time id)
