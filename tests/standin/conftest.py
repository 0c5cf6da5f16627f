"""The stand-in in-process, with a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.standin.support import FakeClock, Standin
from wechat_standin.app import create_app
from wechat_standin.settings import StandinSettings


@pytest.fixture
async def make_standin() -> AsyncIterator[Callable[..., Any]]:
    clients: list[httpx.AsyncClient] = []

    def make(**settings: Any) -> Standin:
        clock = FakeClock()
        app = create_app(StandinSettings(**settings), clock=clock)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wx")
        clients.append(client)
        return Standin(client, clock)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def wx(make_standin: Callable[..., Standin]) -> Standin:
    return make_standin()
