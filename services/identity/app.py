"""The identity service's app: places, accounts, bindings, staff; issues the tokens."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.app import create_service_app
from services.common.auth import TokenVerifier
from services.common.tokens import jwks_document
from services.identity.keys import load_or_create_signing_key
from services.identity.router import internal, router
from services.identity.settings import Settings


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
    return None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings, title="identity", routers=[router, internal], startup_hooks=[_load_keys]
    )
