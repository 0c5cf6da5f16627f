"""The identity service's app: places, accounts, bindings, staff; issues the tokens."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from services.common.app import create_service_app
from services.common.db import utcnow
from services.common.role_changes import PAGE_SIZE, Fetch, RoleChange
from services.common.tokens import jwks_document
from services.identity.community_routes import router as community_router
from services.identity.home import internal as internal_home
from services.identity.keys import load_or_create_signing_key
from services.identity.logins import ensure_platform_admin, recent_role_changes
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
    # Identity trusts its own keys directly rather than fetching its own JWKS over HTTP (its
    # verifier reads role changes from its own table: `_own_role_changes`).
    app.state.token_verifier.trust_keys(jwks_document([key]))


def _own_role_changes(app: FastAPI) -> Fetch:
    """Role changes for identity's own verifier, read from its table rather than over HTTP."""
    settings: Settings = app.state.settings

    async def fetch(after: int) -> Sequence[RoleChange]:
        since = utcnow() - timedelta(seconds=settings.access_token_ttl_seconds + 60)
        async with app.state.sessionmaker() as session:
            rows = await recent_role_changes(session, after, since, PAGE_SIZE)
        return [RoleChange(r.seq, r.account_id, r.roles_version) for r in rows]

    return fetch


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
        routers=[router, community_router, internal, internal_home],
        startup_hooks=[_load_keys, _wechat_client, _first_platform_admin],
        role_changes_source=_own_role_changes,
        snapshots=identity_snapshots(),
    )
