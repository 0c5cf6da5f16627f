"""The whole system as real processes on free loopback ports (scripts/stack.py), started
once per test module, with a temporary DATA_DIR; on PostgreSQL too when TEST_DATABASE_URL
is set (one fresh database per service, migrated by the test set-up)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from scripts.stack import SERVICES, Stack, running
from tests.support import TEST_DATABASE_URL, create_database, drop_database

# Small enough to reach in a test; each test takes its own client address (X-Forwarded-For,
# which uvicorn trusts from loopback) so they do not drain one another's buckets.
E2E_ENV = {
    "GATEWAY_RATE_IP_PER_SECOND": "0.5",
    "GATEWAY_RATE_IP_BURST": "20",
    "GATEWAY_RATE_ACCOUNT_PER_SECOND": "0.5",
    "GATEWAY_RATE_ACCOUNT_BURST": "20",
    "LOG_LEVEL": "WARNING",
}


@pytest.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    data = tmp_path_factory.mktemp("stack")
    # A test module may adjust the environment (e.g. looser rate limits for a long flow).
    env = {**E2E_ENV, **getattr(request.module, "STACK_ENV", {})}
    urls: dict[str, str] = {}
    if TEST_DATABASE_URL:
        urls = {svc: await create_database(svc, data) for svc in SERVICES}
    system = Stack.on_free_ports(data, env=env, database_urls=urls)
    try:
        with running(system, migrate=not urls):
            yield system
    finally:
        for url in urls.values():
            await drop_database(url)


@pytest.fixture
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    """A client of the gateway with a client address of its own."""
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with httpx.Client(
        base_url=stack.url("gateway"), headers={"X-Forwarded-For": address}, timeout=10, trust_env=False
    ) as client:
        yield client
