"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Default loopback ports of the embedded setup (`make run`). The gateway's is GATEWAY_PORT.
DEFAULT_PORTS = {
    "gateway": 8000,
    "identity": 8001,
    "repairs": 8002,
    "votes": 8003,
    "notices": 8004,
    "wechat": 8005,
    "billing": 8006,
}
SERVICE_NAMES = ("identity", "repairs", "votes", "notices", "billing")


def data_dir() -> Path:
    """Where SQLite files, keys and uploads live in the embedded setup (DATA_DIR)."""
    return Path(os.environ.get("DATA_DIR", "data")).resolve()


def service_url(name: str) -> str:
    """Base URL of a service, from `<NAME>_URL`, else its default loopback port."""
    return os.environ.get(f"{name.upper()}_URL", f"http://127.0.0.1:{DEFAULT_PORTS[name]}")


def default_database_url(service: str) -> str:
    return f"sqlite+aiosqlite:///{data_dir() / (service + '.db')}"


class ServiceSettings(BaseSettings):
    """Base of every service's settings. Subclasses set `env_prefix` and `service_name`."""

    model_config = SettingsConfigDict(extra="ignore", env_prefix="")

    service_name: str = "service"
    database_url: str = ""
    # Where identity publishes its public keys; every service verifies tokens against it.
    jwks_url: str = Field(
        default_factory=lambda: os.environ.get(
            "JWKS_URL", service_url("identity") + "/.well-known/jwks.json"
        )
    )
    # A literal JWKS document, used instead of jwks_url when set (tests, air-gapped setups).
    jwks_json: str = Field(default_factory=lambda: os.environ.get("JWKS_JSON", ""))
    # Identity's recent role changes, pulled this often (seconds; 0 = never) so a token whose
    # roles were taken away is refused within seconds (services/common/role_changes.py).
    role_changes_url: str = Field(
        default_factory=lambda: os.environ.get(
            "ROLE_CHANGES_URL", service_url("identity") + "/internal/role-changes"
        )
    )
    role_changes_poll_seconds: float = 1.0
    token_issuer: str = "xiaoqu-identity"
    token_audience: str = "xiaoqu"
    http_timeout_seconds: float = 5.0
    log_level: str = Field(default_factory=lambda: os.environ.get("LOG_LEVEL", "INFO"))
    max_json_body_bytes: int = 1024 * 1024
    # Event machinery (services/common/events, docs/events.md).
    # Run the outbox dispatcher inside the app's lifespan (off when it runs as its own process).
    events_dispatcher_enabled: bool = True
    # Pull the replicas' producers' snapshots at start-up (once per stream; resumable).
    events_backfill_enabled: bool = True
    # JSON list of {"name", "url", "types", "secret"}; empty: the embedded defaults.
    event_subscriptions: str = ""
    # Webhook secrets are per (producer, consumer) pair, not per service: events/config.py
    # reads <PRODUCER>_TO_<CONSUMER>_WEBHOOK_SECRET, else the DATA_DIR file.
    # Seconds between tries, comma-separated; empty: 5s, 5min, 30min, 2h, 5h, 10h, 10h.
    event_retry_schedule: str = ""
    event_delivery_timeout_seconds: float = 3.0
    event_lease_seconds: float = 30.0
    # Due deliveries claimed per dispatcher round. A round's three short write transactions
    # queue behind the requests' writes, so a busy service drains faster with bigger rounds
    # (vote day, 1,500 bindings: replica lag p95 8-9 s at 200, 4-5 s at 1,000).
    event_batch_size: int = 1000
    # Events per delivery request to one subscriber (POST <url>/batch); 1 sends each alone.
    event_events_per_request: int = 100
    event_poll_interval_seconds: float = 0.2
    # Delivered outbox rows (and inbox entries) are pruned after this many days.
    event_retention_days: int = 7

    def model_post_init(self, __context: object) -> None:
        if not self.database_url:
            self.database_url = default_database_url(self.service_name)


class WeChatAppSettings(BaseSettings):
    """The Mini Program's WeChat app, for the services that call WeChat's server API.

    Unprefixed, as the run contract names them; the stand-in in development and tests,
    `https://api.weixin.qq.com` in production.
    """

    wechat_api_base: str = Field(
        default_factory=lambda: os.environ.get("WECHAT_API_BASE", service_url("wechat"))
    )
    wechat_appid: str = Field(default_factory=lambda: os.environ.get("WECHAT_APPID", "wx-standin-app"))
    wechat_secret: str = Field(default_factory=lambda: os.environ.get("WECHAT_SECRET", "standin-secret"))
