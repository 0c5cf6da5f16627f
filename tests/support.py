"""Test helpers: databases per service (SQLite files, or PostgreSQL databases when
TEST_DATABASE_URL is set), apps run with their real lifespan, tokens signed with a test key."""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.migrations import upgrade
from services.common.tokens import AccessClaims, SigningKey, issue_access_token, jwks_document

SERVICES = ("identity", "repairs", "votes", "notices", "billing")
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")

# Webhook secrets of the test session, one per (producer, consumer) pair of services
# (events/config.py reads <PRODUCER>_TO_<CONSUMER>_WEBHOOK_SECRET), so tests never write the
# machine-wide secrets file and can sign deliveries themselves.
WEBHOOK_SECRETS: dict[tuple[str, str], str] = {}
for _producer in SERVICES:
    for _consumer in SERVICES:
        if _producer != _consumer:
            _name = f"{_producer.upper()}_TO_{_consumer.upper()}_WEBHOOK_SECRET"
            os.environ.setdefault(_name, "whsec_" + base64.b64encode(os.urandom(24)).decode())
            WEBHOOK_SECRETS[(_producer, _consumer)] = os.environ[_name]

# One key for the whole test session; every app verifies with its public half.
SIGNING_KEY = SigningKey.generate()
JWKS_JSON = json.dumps(jwks_document([SIGNING_KEY]))


def token(
    account_id: str | None = None,
    *,
    platform_admin: bool = False,
    staff: dict[str, dict[str, Any]] | None = None,
    ttl_seconds: int = 900,
    now: float | None = None,
    openid: str | None = None,
    roles_version: int = 0,
) -> str:
    claims = AccessClaims(
        account_id=account_id or str(uuid.uuid4()),
        platform_admin=platform_admin,
        staff=staff or {},
        openid=openid,
        roles_version=roles_version,
    )
    return issue_access_token(SIGNING_KEY, claims, ttl_seconds=ttl_seconds, now=now)


def auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def manager_token(community_id: str, account_id: str | None = None) -> str:
    return token(account_id, staff={community_id: {"role": "manager", "department": None}})


def crew_token(community_id: str, department: str = "repair", account_id: str | None = None) -> str:
    return token(account_id, staff={community_id: {"role": "crew", "department": department}})


def admin_token(account_id: str | None = None) -> str:
    return token(account_id, platform_admin=True)


def _pg_admin_url() -> str:
    return TEST_DATABASE_URL


async def create_database(service: str, tmp_dir: Path) -> str:
    """A fresh, migrated database for one service; returns its async URL."""
    if TEST_DATABASE_URL:
        name = f"test_{service}_{uuid.uuid4().hex[:10]}"
        admin = create_async_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        base, _, _ = TEST_DATABASE_URL.rpartition("/")
        url = f"{base}/{name}"
    else:
        url = f"sqlite+aiosqlite:///{tmp_dir / (service + '.db')}"
    await asyncio.to_thread(upgrade, service, url)
    return url


async def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = url.rsplit("/", 1)[1]
    admin = create_async_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


_PAY_KEYS: Any = None


def billing_pay_keys() -> Any:
    """Test WeChat Pay keys (merchant, platform, APIv3), generated once per session."""
    global _PAY_KEYS
    if _PAY_KEYS is None:
        from services.billing.devkeys import generate

        _PAY_KEYS = generate()
    return _PAY_KEYS


def settings_for(service: str, database_url: str, **overrides: Any) -> Any:
    module = importlib.import_module(f"services.{service}.settings")
    if service == "billing":
        # Generated keys, so no test reads or writes the development keys under DATA_DIR.
        keys = billing_pay_keys()
        overrides.setdefault("wechatpay_merchant_serial", keys.merchant_serial)
        overrides.setdefault("wechatpay_merchant_private_key", keys.merchant_private_key)
        overrides.setdefault("wechatpay_platform_public_key", keys.platform_public_key)
        overrides.setdefault("wechatpay_platform_key_id", keys.platform_key_id)
        overrides.setdefault("wechatpay_apiv3_key", keys.apiv3_key)
    # No background dispatcher unless a test asks for one (events tests drive it themselves).
    overrides.setdefault("events_dispatcher_enabled", False)
    overrides.setdefault("events_backfill_enabled", False)
    # Role changes are pulled only where a test wires a source (role_changes.py).
    overrides.setdefault("role_changes_poll_seconds", 0)
    return module.Settings(database_url=database_url, jwks_json=JWKS_JSON, **overrides)


async def truncate_all(database_url: str) -> None:
    """Empties every table but the migration versions: each test starts from a clean slate."""
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        if database_url.startswith("postgresql"):
            rows = await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename NOT LIKE 'alembic_version%'"
                )
            )
            names = [r[0] for r in rows]
            if names:
                quoted = ", ".join(f'"{n}"' for n in names)
                await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            rows = await conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'alembic_version%' AND name NOT LIKE 'sqlite_%'"
                )
            )
            await conn.execute(text("PRAGMA foreign_keys=OFF"))
            for (name,) in rows:
                await conn.execute(text(f'DELETE FROM "{name}"'))
    await engine.dispose()


@asynccontextmanager
async def running_app(service: str, database_url: str, **overrides: Any) -> AsyncIterator[Any]:
    """The service's real app with its lifespan run (engine, http client, hooks)."""
    module = importlib.import_module(f"services.{service}.app")
    app = module.create_app(settings_for(service, database_url, **overrides))
    if service == "identity":
        # Tests sign with SIGNING_KEY: identity must sign with it too.
        app.state.settings.signing_key_pem = SIGNING_KEY.to_pem().decode()
        app.state.settings.signing_key_id = SIGNING_KEY.kid
    async with app.router.lifespan_context(app):
        yield app


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the one error shape with `status`, `code` (when given) and a Chinese
    message a person can read; returns the error object."""
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert set(err) == {"code", "message", "details"}, err
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"]), err["message"]
    if code is not None:
        assert err["code"] == code, err
    return err
