"""search.execute."""
