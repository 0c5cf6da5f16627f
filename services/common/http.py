"""The one long-lived outgoing HTTP client per process, with explicit timeouts."""

from __future__ import annotations

import httpx


def create_http_client(timeout_seconds: float = 5.0, *, max_connections: int = 100) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds, connect=min(2.0, timeout_seconds)),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=20),
        headers={"user-agent": "xiaoqu-backend/0.1"},
        trust_env=False,
    )
