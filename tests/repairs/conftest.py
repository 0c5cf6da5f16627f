"""Fixtures of the repairs tests: the running app and a populated community."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.repairs.factories import World, make_world, repairs_app
from tests.support import client_for


@pytest.fixture
async def app(database_urls: dict[str, str], tmp_path: Path) -> AsyncIterator[Any]:
    async with repairs_app(database_urls["repairs"], tmp_path / "uploads") as app:
        yield app


@pytest.fixture
async def world(app: Any) -> AsyncIterator[World]:
    async with client_for(app) as client:
        yield await make_world(app, client)
