"""search.index."""
