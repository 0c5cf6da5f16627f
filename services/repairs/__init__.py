"""The repairs service."""
