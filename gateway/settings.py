"""Settings of the gateway (environment prefix GATEWAY_; service URLs from `<NAME>_URL`).

It shares the token settings (JWKS URL, issuer, audience), log level and JSON body limit
with the services' base; it has no database of its own.
"""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import DEFAULT_PORTS, SERVICE_NAMES, ServiceSettings, service_url


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    port: int = DEFAULT_PORTS["gateway"]
    # Base URLs of the services, from IDENTITY_URL, REPAIRS_URL, VOTES_URL, NOTICES_URL.
    service_urls: dict[str, str] = Field(
        default_factory=lambda: {name: service_url(name) for name in SERVICE_NAMES}
    )
    # The manager's console process, served at /console; not served when empty (CONSOLE_URL).
    console_url: str = Field(default_factory=lambda: os.environ.get("CONSOLE_URL", ""))
    # Shared rate-limit buckets for several gateway replicas; in memory when empty.
    redis_url: str = Field(default_factory=lambda: os.environ.get("REDIS_URL", ""))
    # Token buckets: sustained requests per second and burst, per account and per client IP.
    rate_account_per_second: float = 20.0
    rate_account_burst: int = 60
    rate_ip_per_second: float = 50.0
    rate_ip_burst: int = 200
    max_upload_body_bytes: int = 10 * 1024 * 1024
    # Upstream timeouts: connecting (a stopped service refuses at once), then the whole answer.
    connect_timeout_seconds: float = 2.0
    upstream_timeout_seconds: float = 15.0
    readyz_timeout_seconds: float = 2.0
    # Idle keep-alive connections kept per service (uvicorn closes idle ones after 5 s).
    pool_max_idle: int = 128
    pool_idle_seconds: float = 4.0
    pool_max_connections: int = 512
    # "errors": log only what the gateway answered itself or that failed (status >= 400);
    # forwarded successes are logged by the service, under the same X-Request-Id.
    # "all": one line per request here too (costs ~10% of the hop's CPU: see bench/gateway.py).
    access_log: str = "errors"
    # Browser origins of the manager console allowed by CORS; none when empty.
    cors_origins: list[str] = Field(default_factory=list)
    # The internal listener serving /metrics (never the public port); not served when unset.
    # `make run` puts it on the port after billing's (8007), docker-compose on
    # 9100 of the gateway container, not published.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
