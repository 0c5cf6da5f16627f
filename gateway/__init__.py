"""The gateway: the one public API (/api/v1) in front of identity, repairs, votes and notices."""
