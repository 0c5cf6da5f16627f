"""What every page shares: the console's state, the logged-in session (`CurrentSession`),
the CSRF-checked form (`CheckedForm`), rendering with the layout's context, redirects that
also work for htmx requests, and the client address passed on to the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from console.api import ApiClient, ApiError
from console.security import CSRF_FIELD, CSRF_HEADER, tokens_match
from console.sessions import COOKIE, Session, SessionStore
from console.settings import ConsoleSettings

BASE = "/console"
TEMPLATES = Path(__file__).parent / "templates"


class NeedLogin(Exception):
    """No live session: the browser goes to the login page."""


class CsrfFailed(Exception):
    """A form without this session's CSRF token."""


class Forbidden(Exception):
    """A page the session's role does not open (the API would refuse it too)."""


@dataclass
class Console:
    settings: ConsoleSettings
    store: SessionStore
    api: ApiClient
    templates: Jinja2Templates


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _current_session(request: Request) -> Session:
    session = console_of(request).store.get(request.cookies.get(COOKIE))
    if session is None:
        raise NeedLogin()
    return session


CurrentSession = Annotated[Session, Depends(_current_session)]


async def _manager_session(session: CurrentSession) -> Session:
    if not session.is_manager:
        raise Forbidden()
    return session


ManagerSession = Annotated[Session, Depends(_manager_session)]


async def _admin_session(session: CurrentSession) -> Session:
    if not session.platform_admin:
        raise Forbidden()
    return session


AdminSession = Annotated[Session, Depends(_admin_session)]


async def _checked_form(request: Request, session: CurrentSession) -> FormData:
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str):
        given = request.headers.get(CSRF_HEADER)
    if not tokens_match(session.csrf, given):
        raise CsrfFailed()
    return form


CheckedForm = Annotated[FormData, Depends(_checked_form)]


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def render(
    request: Request,
    template: str,
    session: Session | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    console = console_of(request)
    flash = session_flash(request, session)
    return console.templates.TemplateResponse(
        request,
        template,
        {"session": session, "base": BASE, "csrf": session.csrf if session else "", "flash": flash, **context},
        status_code=status_code,
    )


def add_flash(session: Session, message: str) -> None:
    session.flash.append(message)


def session_flash(request: Request, session: Session | None) -> list[str]:
    if session is None or request.headers.get("hx-request"):
        return []
    shown, session.flash = session.flash, []
    return shown


def redirect(request: Request, url: str) -> Response:
    """303 to `url`; htmx requests get HX-Redirect so the whole page changes."""
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def form_errors(exc: ApiError) -> dict[str, str]:
    """Field name -> message, and `_` for the message that belongs to no field."""
    errors = exc.field_errors()
    if not errors:
        errors["_"] = exc.message
    return errors


@dataclass
class Calls:
    """The API as one page's request sees it: the session's tokens, the browser's address."""

    api: ApiClient
    session: Session
    ip: str | None

    async def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return await self.api.get(self.session, path, self.ip, params=clean)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        if json is not None:
            kwargs["json"] = json
        return await self.api.post(self.session, path, self.ip, **kwargs)

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.api.request(self.session, method, path, client_ip=self.ip, **kwargs)


def calls(request: Request, session: Session) -> Calls:
    return Calls(console_of(request).api, session, client_ip(request))


def need_community(session: Session) -> str:
    if session.community_id is None:
        raise Forbidden()
    return session.community_id


def csv_download(answer: httpx.Response, filename: str) -> Response:
    """An API's CSV export passed on to the browser as a download (the API's file name wins)."""
    disposition = answer.headers.get("content-disposition", f'attachment; filename="{filename}"')
    return Response(answer.content, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})


async def post_action(
    request: Request,
    session: Session,
    path: str,
    done: str,
    back: str,
    refused: Callable[[dict[str, str]], Awaitable[Response]],
) -> Response:
    """A lifecycle button (open, close, publish ...): the API call, then back to the page with
    `done` shown; a refusal re-renders the page with the API's message (`refused(errors)`)."""
    try:
        await calls(request, session).post(path)
    except ApiError as exc:
        return await refused(form_errors(exc))
    add_flash(session, done)
    return redirect(request, back)
