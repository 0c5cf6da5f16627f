"""The four domain services and the plumbing they share."""
