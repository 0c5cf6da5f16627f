"""The console app: pages under /console (served to browsers through the gateway), its
static files, health checks for the process supervisor, and the handlers that turn a lost
session, a bad CSRF token or a refused API call into a page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from console import labels
from console.api import ApiClient, ApiError, LoggedOut
from console.pages import (
    auth,
    bindings,
    dashboard,
    deliveries,
    notices,
    rooms,
    staff,
    tickets,
    votes,
)
from console.security import SecurityHeadersMiddleware
from console.sessions import COOKIE, COOKIE_PATH, SessionStore
from console.settings import ConsoleSettings
from console.web import BASE, TEMPLATES, Console, CsrfFailed, Forbidden, NeedLogin, redirect, render
from services.common.logs import configure_logging
from services.common.middleware import RequestContextMiddleware

STATIC = TEMPLATES.parent / "static"


def create_app(
    settings: ConsoleSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or ConsoleSettings()
    configure_logging("console", settings.log_level)
    api = ApiClient(settings.gateway_url, settings.api_timeout_seconds, transport)
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["base"] = BASE
    templates.env.globals["labels"] = labels

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await api.aclose()

    app = FastAPI(title="物业管理后台", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = Console(
        settings, SessionStore(settings.session_idle_seconds, settings.session_max_seconds), api, templates
    )
    for module in (auth, dashboard, rooms, bindings, tickets, votes, notices, staff, deliveries):
        app.include_router(module.router, prefix=BASE)
    app.mount(BASE + "/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "console"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        return {"status": "ok", "service": "console"}

    @app.get(BASE, include_in_schema=False)
    async def bare(request: Request) -> Response:
        return redirect(request, BASE + "/")

    @app.exception_handler(NeedLogin)
    @app.exception_handler(LoggedOut)
    async def to_login(request: Request, exc: Exception) -> Response:
        if isinstance(exc, LoggedOut):
            app.state.console.store.drop(request.cookies.get(COOKIE, ""))
        response = redirect(request, BASE + "/login")
        if isinstance(exc, LoggedOut):
            response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: Exception) -> Response:
        session = app.state.console.store.get(request.cookies.get(COOKIE))
        return render(request, "error.html", session, 403, message="页面已过期或来源不正确，请刷新后重试")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Exception) -> Response:
        session = app.state.console.store.get(request.cookies.get(COOKIE))
        return render(request, "error.html", session, 403, message="您没有权限访问此页面")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        session = app.state.console.store.get(request.cookies.get(COOKIE))
        status = exc.status if 400 <= exc.status < 600 else 502
        if request.headers.get("hx-request"):
            return HTMLResponse(f'<p class="error" role="alert">{_escape(exc.message)}</p>', status_code=status)
        return render(request, "error.html", session, status, message=exc.message)

    @app.exception_handler(httpx.HTTPError)
    async def api_unreachable(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(BASE):
            session = app.state.console.store.get(request.cookies.get(COOKIE))
            return render(request, "error.html", session, 503, message="服务暂时不可用，请稍后再试")
        return JSONResponse({"status": "unavailable"}, status_code=503)

    app.add_middleware(RequestContextMiddleware, service="console")
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
