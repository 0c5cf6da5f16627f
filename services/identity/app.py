"""The identity service's app: places, accounts, bindings, staff; issues the tokens."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from services.common.app import create_service_app
from services.common.auth import TokenVerifier
from services.common.tokens import jwks_document
from services.identity.accounts import ensure_platform_admin
from services.identity.keys import load_or_create_signing_key
from services.identity.router import internal, router
from services.identity.settings import Settings
from services.identity.snapshots import identity_snapshots
from services.identity.wechat import WeChatClient

log = logging.getLogger("identity")


async def _load_keys(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    key = load_or_create_signing_key(
        settings.signing_key_file, settings.signing_key_pem, settings.signing_key_id
    )
    app.state.signing_key = key
    app.state.signing_keys = [key]
    # Identity trusts its own keys directly rather than fetching its own JWKS over HTTP.
    app.state.token_verifier = TokenVerifier(
        jwks=jwks_document([key]),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )


async def _wechat_client(app: FastAPI) -> None:
    """WeChat through the one HTTP client; tests may replace `app.state.wechat`."""
    settings: Settings = app.state.settings
    app.state.wechat = WeChatClient(
        app.state.http,
        settings.wechat_api_base,
        settings.wechat_appid,
        settings.wechat_secret,
        retries=settings.wechat_retries,
        backoff_seconds=settings.wechat_backoff_seconds,
    )


async def _first_platform_admin(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    try:
        await ensure_platform_admin(
            app.state.sessionmaker, settings.platform_admin_username, settings.platform_admin_password
        )
    except DBAPIError as exc:  # tables not migrated yet: /readyz says so; start anyway
        log.warning("could not create the first platform admin", extra={"error": type(exc).__name__})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="identity",
        routers=[router, internal],
        startup_hooks=[_load_keys, _wechat_client, _first_platform_admin],
        snapshots=identity_snapshots(),
    )
