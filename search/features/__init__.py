"""search.features."""
