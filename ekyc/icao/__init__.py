"""icao."""
