"""The notices service's app."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.app import create_service_app
from services.common.events import EventHandlers
from services.common.identity_replica import register_identity_replica
from services.notices.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    handlers = register_identity_replica(EventHandlers())
    return create_service_app(settings, title="notices", routers=[], event_handlers=handlers)
