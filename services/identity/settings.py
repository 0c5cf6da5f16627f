"""Settings of the identity service (environment prefix IDENTITY_)."""

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings, WeChatAppSettings, data_dir


class Settings(WeChatAppSettings, ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    service_name: str = "identity"
    # Ed25519 private key (PEM) and its kid; when empty, one is generated under the data folder.
    signing_key_pem: str = ""
    signing_key_id: str = ""
    signing_key_file: Path = Field(default_factory=lambda: data_dir() / "identity-signing-key.json")
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30

    # WeChat (the stand-in in development and tests). Unprefixed names as api.md fixes them.
    wechat_retries: int = 3
    wechat_backoff_seconds: float = 0.2

    # The first platform admin, created once at start-up and never overwritten.
    platform_admin_username: str = Field(
        default_factory=lambda: os.environ.get("PLATFORM_ADMIN_USERNAME", "")
    )
    platform_admin_password: str = Field(
        default_factory=lambda: os.environ.get("PLATFORM_ADMIN_PASSWORD", "")
    )

    # Staff login: this many failures per username and IP within the window, then 429.
    login_max_failures: int = 5  # per username and address, in the window
    login_failure_window_seconds: int = 900
    # Per username across every address: this many failures in the window are free, then each
    # further attempt waits 2^(n - free) seconds after the last failure, at most the window.
    login_user_free_failures: int = 10

    # Clean-up report: pending binding requests older than this are listed.
    pending_stale_days: int = 7
    # Binding requests: per account per rolling day, and pending at once per room (429 past
    # either). Each request costs a manager's review, and together they bound a guesser.
    binding_requests_per_day: int = 10
    binding_pending_per_room: int = 5
