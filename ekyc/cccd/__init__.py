"""cccd."""
