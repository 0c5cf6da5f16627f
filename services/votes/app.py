"""The votes service's app."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.app import create_service_app
from services.common.clock import Clock
from services.common.events import EventHandlers
from services.common.identity_replica import IDENTITY_REPLICA_BACKFILL, register_identity_replica
from services.votes.home import internal as internal_home
from services.votes.router import router
from services.votes.scheduler import start_scheduler
from services.votes.settings import Settings
from services.votes.turnout_routes import router as turnout_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    handlers = register_identity_replica(EventHandlers())
    app = create_service_app(
        settings,
        title="votes",
        routers=[router, turnout_router, internal_home],
        startup_hooks=[start_scheduler],
        event_handlers=handlers,
        backfill_from=IDENTITY_REPLICA_BACKFILL,
    )
    # Tests set or advance it; the scheduler and every route read the time from it.
    app.state.clock = Clock()
    return app
