"""The notices service's app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI

from services.common.app import create_service_app
from services.common.events import EventHandlers
from services.common.identity_replica import IDENTITY_REPLICA_BACKFILL, register_identity_replica
from services.common.images import DecodeSlots
from services.notices.activity_reminders import start_activity_reminders
from services.notices.attachment_routes import attachment_router
from services.notices.care import register_care_handlers
from services.notices.events import register_notice_handlers
from services.notices.home import internal as internal_home
from services.notices.journey_routes import router as journey_router
from services.notices.router import router
from services.notices.runtime import Runtime
from services.notices.settings import Settings
from services.notices.vote_reminders import register_vote_reminder_handler
from services.notices.wechat import WeChatClient
from services.notices.worker import Worker


def create_app(
    settings: Settings | None = None, *, wechat_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """`wechat_transport` replaces the network for WeChat calls (tests: the stand-in through
    httpx.ASGITransport)."""
    settings = settings or Settings()
    rt = Runtime(settings)
    handlers = register_notice_handlers(register_identity_replica(EventHandlers()), rt)
    register_vote_reminder_handler(handlers, rt)
    register_care_handlers(handlers)

    async def start_worker(app: FastAPI) -> Callable[[], Awaitable[None]]:
        # Its own connection pool: WeChat has its own base URL, timeouts and (in tests) transport.
        rt.wechat = WeChatClient(
            wechat_transport or httpx.AsyncHTTPTransport(),
            base_url=settings.wechat_api_base,
            appid=settings.wechat_appid,
            secret=settings.wechat_secret,
            timeout_seconds=settings.wechat_timeout_seconds,
            token_margin_seconds=settings.wechat_token_margin_seconds,
        )
        worker = Worker(rt, app.state.sessionmaker)
        app.state.notices_worker = worker
        worker.start()

        async def stop() -> None:
            await worker.stop()
            if rt.wechat is not None:
                await rt.wechat.aclose()

        return stop

    app = create_service_app(
        settings,
        title="notices",
        # The journeys' routes first: `/notices/{id}/resend` before `/notices/{id}/{action}`.
        routers=[journey_router, attachment_router, router, internal_home],
        startup_hooks=[start_worker, start_activity_reminders],
        event_handlers=handlers,
        backfill_from=IDENTITY_REPLICA_BACKFILL,
    )
    app.state.notices = rt
    app.state.decode_slots = DecodeSlots(settings.image_decode_concurrency)
    # The one clock (services.common.clock): routes read it through `Now`, the worker and
    # the event handlers through the runtime.
    app.state.clock = rt.clock
    return app
