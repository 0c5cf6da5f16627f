"""Settings of the console (environment prefix CONSOLE_)."""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import DEFAULT_PORTS


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore")

    # The public API the console is a client of: the gateway, like the Mini Program's.
    gateway_url: str = Field(
        default_factory=lambda: os.environ.get(
            "GATEWAY_URL", f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', DEFAULT_PORTS['gateway'])}"
        )
    )
    # A session ends after this long without a request, and after `session_max_seconds` anyway.
    session_idle_seconds: int = 2 * 3600
    session_max_seconds: int = 12 * 3600
    # Cookies get `Secure` when the browser reached us over https (X-Forwarded-Proto from the
    # gateway or a TLS proxy); `always` forces it, `never` leaves it off.
    secure_cookies: str = "auto"
    api_timeout_seconds: float = 15.0
    # Rows fetched for a board or list page (one API page each).
    page_size: int = 50
    log_level: str = Field(default_factory=lambda: os.environ.get("LOG_LEVEL", "INFO"))
