"""The repairs service's app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from services.common.app import create_service_app
from services.common.clock import Clock
from services.common.events import EventHandlers
from services.common.identity_replica import IDENTITY_REPLICA_BACKFILL, register_identity_replica
from services.common.images import DecodeSlots
from services.repairs.events import register_repairs_handlers
from services.repairs.home import internal as internal_home
from services.repairs.router import router
from services.repairs.scheduler import start_scheduler
from services.repairs.settings import Settings
from services.repairs.staff_routes import router as staff_router
from services.repairs.wechat import ContentChecker


async def _content_checker(app: FastAPI) -> Callable[[], Awaitable[None]] | None:
    """The msgSecCheck client on the process's one HTTP client (created in the lifespan)."""
    settings: Settings = app.state.settings
    app.state.content_checker = ContentChecker(
        app.state.http, settings.wechat_api_base, settings.wechat_appid, settings.wechat_secret
    )
    return None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    handlers = register_repairs_handlers(register_identity_replica(EventHandlers()))
    app = create_service_app(
        settings,
        title="repairs",
        routers=[router, staff_router, internal_home],
        startup_hooks=[_content_checker, start_scheduler],
        event_handlers=handlers,
        backfill_from=IDENTITY_REPLICA_BACKFILL,
    )
    # Every use case reads time from here; tests set and advance it to move the SLA clocks.
    app.state.clock = Clock()
    app.state.decode_slots = DecodeSlots(settings.image_decode_concurrency)
    return app
