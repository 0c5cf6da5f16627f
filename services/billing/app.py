"""The billing service's app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from services.billing.events import register_billing_handlers
from services.billing.router import router
from services.billing.scheduler import start_scheduler
from services.billing.settings import Settings
from services.billing.wechatpay import client_from_settings
from services.common.app import create_service_app
from services.common.clock import Clock
from services.common.events import EventHandlers
from services.common.identity_replica import IDENTITY_REPLICA_BACKFILL, register_identity_replica


async def start_wechatpay(app: FastAPI) -> Callable[[], Awaitable[None]] | None:
    """The one WeChat Pay client of the process (a test may have put its own in first)."""
    if getattr(app.state, "wechatpay", None) is None:
        app.state.wechatpay = client_from_settings(app.state.settings)
    return app.state.wechatpay.aclose


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    handlers = register_billing_handlers(register_identity_replica(EventHandlers()))
    app = create_service_app(
        settings,
        title="billing",
        routers=[router],
        startup_hooks=[start_wechatpay, start_scheduler],
        event_handlers=handlers,
        backfill_from=IDENTITY_REPLICA_BACKFILL,
    )
    app.state.clock = Clock()
    app.state.wechatpay = None
    return app
