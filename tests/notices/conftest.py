"""The `setup` fixture of the push tests: the app, the WeChat stand-in behind it and an owner
who can receive pushes (tests.notices.factories.push_setup)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.notices.factories import Setup, push_setup


@pytest.fixture
async def setup(database_urls: dict[str, str]) -> AsyncIterator[Setup]:
    async with push_setup(database_urls["notices"]) as s:
        yield s
