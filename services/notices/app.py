"""The notices service's app."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.app import create_service_app
from services.notices.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(settings, title="notices", routers=[])
