"""`create_service_app`: the FastAPI app every service is built on, with the plumbing wired."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from services.common import health
from services.common.auth import verifier_from_settings
from services.common.db import create_engine, create_sessionmaker
from services.common.errors import install_error_handlers
from services.common.events import admin as events_admin
from services.common.events import backfill as events_backfill
from services.common.events import receiver as events_receiver
from services.common.events.dispatcher import Dispatcher
from services.common.events.handlers import EventHandlers
from services.common.http import create_http_client
from services.common.logs import configure_logging
from services.common.middleware import (
    BodySizeLimitMiddleware,
    NulCharacterMiddleware,
    RequestContextMiddleware,
)
from services.common.migrations import head_revisions
from services.common.role_changes import Fetch
from services.common.settings import SERVICE_NAMES, ServiceSettings

# Called with the app once the shared state exists, and must return a shutdown callable.
StartupHook = Callable[[FastAPI], Awaitable[Callable[[], Awaitable[None]] | None]]

UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter],
    startup_hooks: Sequence[StartupHook] = (),
    event_handlers: EventHandlers | None = None,
    snapshots: events_backfill.Snapshots | None = None,
    backfill_from: dict[str, Sequence[str]] | None = None,
    role_changes_source: Callable[[FastAPI], Fetch] | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = create_engine(settings.database_url)
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        app.state.http = create_http_client(settings.http_timeout_seconds)
        app.state.token_verifier = verifier_from_settings(
            settings, app.state.http, role_changes_source(app) if role_changes_source else None
        )
        app.state.token_verifier.role_changes.start()
        app.state.migration_heads = head_revisions(settings.service_name)
        shutdowns = []
        # The event machinery: the dispatcher delivers this service's outbox (unless it runs
        # as its own process); the receiver's secrets (one per producer) are resolved once.
        app.state.webhook_secrets = events_receiver.receiver_secrets(settings)
        app.state.event_receipts = events_receiver.Receipts(
            app.state.engine, app.state.sessionmaker, app.state.event_handlers
        )
        shutdowns.append(app.state.event_receipts.close)
        app.state.dispatcher = None
        # Every service with event tables runs one (it also prunes); an app without them,
        # such as the gateway, only if it was given subscriptions.
        if settings.events_dispatcher_enabled and (
            settings.service_name in SERVICE_NAMES or settings.event_subscriptions
        ):
            app.state.dispatcher = Dispatcher.from_settings(
                settings, app.state.sessionmaker, app.state.http
            )
            app.state.dispatcher.start()
            shutdowns.append(app.state.dispatcher.stop)
        hooks = list(startup_hooks)
        if backfill_from:
            hooks.append(events_backfill.backfill_hook(backfill_from))
        shutdowns.append(app.state.token_verifier.role_changes.stop)
        try:
            for hook in hooks:
                stop = await hook(app)
                if stop is not None:
                    shutdowns.append(stop)
            yield
        finally:
            for stop in reversed(shutdowns):
                await stop()
            await app.state.http.aclose()
            await app.state.engine.dispose()

    app = FastAPI(title=title, lifespan=lifespan, **fastapi_kwargs)
    app.state.settings = settings
    # The events this service consumes; the receiver (POST /events) dispatches to them.
    app.state.event_handlers = event_handlers or EventHandlers()
    # The snapshot streams this service serves to consumers that backfill (events/backfill.py).
    app.state.snapshots = snapshots
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(events_receiver.router)
    app.include_router(events_admin.router)
    app.include_router(events_backfill.router)
    for router in routers:
        app.include_router(router)
    # Inside the size limit, so it never buffers more than the limit allows.
    app.add_middleware(NulCharacterMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware,
        json_limit=settings.max_json_body_bytes,
        upload_limit=UPLOAD_LIMIT_BYTES,
    )
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    return app
