"""The notices service."""
