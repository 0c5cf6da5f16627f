"""The gateway serves the manager's console at /console: forwarded as the browser sent it
(cookies and htmx headers included, the client's address stated by the gateway), dot
segments refused, and nothing at all when no console is configured."""

from __future__ import annotations

import pytest

from gateway.routing import is_console_path, resolve
from tests.gateway.support import echo_app, gateway_client, gateway_settings, serve


@pytest.mark.parametrize("path", ["/console", "/console/", "/console/tickets/t1", "/console/static/console.js"])
def test_console_paths_are_recognised(path: str) -> None:
    assert is_console_path(path)


@pytest.mark.parametrize("path", ["/consoles", "/console/../api/v1/me", "/console/./x", "/api/v1/console", "/"])
def test_other_paths_and_dot_segments_are_not_the_consoles(path: str) -> None:
    assert not is_console_path(path)


def test_the_api_route_table_is_untouched() -> None:
    assert resolve("/console") is None


async def test_console_requests_are_forwarded_with_cookies_and_the_clients_address() -> None:
    async with serve(echo_app) as console_url:
        async with gateway_client(gateway_settings(console_url=console_url)) as (_, gw):
            response = await gw.post(
                "/console/tickets/t1/transition?x=1",
                content=b"action=accept",
                headers={
                    "cookie": "console_session=abc",
                    "hx-request": "true",
                    "x-csrf-token": "tok",
                    "content-type": "application/x-www-form-urlencoded",
                    "x-forwarded-for": "1.2.3.4",
                },
            )
    assert response.status_code == 200
    seen = response.json()
    assert seen["raw_path"] == "/console/tickets/t1/transition" and seen["query"] == "x=1"
    assert seen["headers"]["cookie"] == "console_session=abc"
    assert seen["headers"]["hx-request"] == "true" and seen["headers"]["x-csrf-token"] == "tok"
    assert seen["headers"]["x-forwarded-for"] == "203.0.113.7"  # the gateway's word, not the client's
    assert seen["headers"]["x-forwarded-proto"] == "http"
    assert seen["body_length"] == len(b"action=accept")


async def test_without_a_console_the_path_is_404() -> None:
    async with gateway_client(gateway_settings()) as (_, gw):
        response = await gw.get("/console/")
    assert response.status_code == 404
