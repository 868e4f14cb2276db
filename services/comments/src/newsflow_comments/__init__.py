"""newsflow-comments: Threaded, moderated, rate-limited discussion under every article."""
