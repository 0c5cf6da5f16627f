"""Helpers for the console's tests: the console app in process against a FakeApi, its CSRF
token read from a form, a client already logged in."""

from __future__ import annotations

import re

import httpx

from console.app import create_app
from console.settings import ConsoleSettings
from tests.console.fake_api import PASSWORD, FakeApi


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def console_client(api: FakeApi, scheme: str = "http") -> httpx.AsyncClient:
    app = create_app(ConsoleSettings(gateway_url="http://gateway"), transport=api.transport())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"{scheme}://console")


async def logged_in(api: FakeApi, scheme: str = "http") -> tuple[httpx.AsyncClient, httpx.Response]:
    client = await console_client(api, scheme)
    form = await client.get("/console/login")
    answer = await client.post("/console/login", data={
        "username": "zhang", "password": PASSWORD, "csrf_token": csrf_of(form.text)})
    return client, answer
