"""Fixtures of the billing tests: the app wired to the WeChat Pay stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.billing.factories import PayWorld, pay_world


@pytest.fixture
async def w(database_urls: dict[str, str]) -> AsyncIterator[PayWorld]:
    async with pay_world(database_urls["billing"]) as world:
        yield world
