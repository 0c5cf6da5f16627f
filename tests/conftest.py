"""Fixtures: one migrated database per service for the whole run, emptied after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import SERVICES, create_database, drop_database, truncate_all


@pytest.fixture(scope="session")
async def database_urls(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("db")
    urls = {svc: await create_database(svc, tmp) for svc in SERVICES}
    yield urls
    for url in urls.values():
        await drop_database(url)


@pytest.fixture(autouse=True)
async def _clean_databases(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "database_urls" in request.fixturenames:
        urls = request.getfixturevalue("database_urls")
        for url in urls.values():
            await truncate_all(url)
