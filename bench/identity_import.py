"""Times a 20,000-room roster import through identity's HTTP app, on SQLite and, when one is
reachable, on PostgreSQL (BENCH_DATABASE_URL, default the local trust-auth server).

    python -m bench.identity_import
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.migrations import upgrade
from services.common.tokens import AccessClaims, SigningKey, issue_access_token
from services.identity.app import create_app
from services.identity.settings import Settings

ROOMS = 20_000
PG_ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


def roster_csv(rooms: int = ROOMS, changed: int = 0) -> bytes:
    """20 buildings × 4 units × 25 floors × 10 rooms; the first `changed` rooms get a new owner."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["楼栋", "单元", "房号", "面积", "状态", "业主姓名", "手机号", "业主标识"])
    n = 0
    for b in range(1, 21):
        for u in range(1, 5):
            for f in range(1, 26):
                for r in range(1, 11):
                    if n >= rooms:
                        break
                    owner = f"新业主{n}" if n < changed else f"业主{n}"
                    w.writerow([b, u, f"{f}{r:02d}", f"{60 + n % 90}.{n % 100:02d}",
                                "已交付" if n % 7 else "已售", owner, f"139{n:08d}", ""])
                    n += 1
    return buf.getvalue().encode("gbk")


async def _run(url: str, label: str) -> None:
    upgrade("identity", url)
    key = SigningKey.generate()
    settings = Settings(
        database_url=url,
        signing_key_pem=key.to_pem().decode(),
        signing_key_id=key.kid,
        log_level="WARNING",
        # Time the import alone, not the delivery of its 20,000 events (ignored where unknown).
        events_dispatcher_enabled=False,
    )
    app = create_app(settings)
    admin = issue_access_token(key, AccessClaims(account_id=str(uuid.uuid4()), platform_admin=True))
    headers = {"Authorization": f"Bearer {admin}"}
    first, again, changed = roster_csv(), roster_csv(), roster_csv(changed=1000)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as c:
            cid = (await c.post("/communities", json={"name": "基准小区"}, headers=headers)).json()["id"]
            for name, data in (("first import", first), ("same file again", again), ("1,000 owners changed", changed)):
                started, cpu = time.perf_counter(), time.process_time()
                r = await c.post(f"/communities/{cid}/roster", files={"file": ("r.csv", data, "text/csv")}, headers=headers)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                assert r.status_code == 200, r.text
                # CPU of this process only (not the database server's): on a busy machine the
                # wall time grows while this stays put.
                print(f"{label:10s} {name:22s} {elapsed:6.2f} s (cpu {cpu:5.2f} s)  {r.json()}")


async def _pg_database() -> str | None:
    try:
        admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"bench_identity_{uuid.uuid4().hex[:8]}"
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
    except (OSError, SQLAlchemyError) as exc:  # not reachable: skip, say so
        print(f"PostgreSQL not reachable ({type(exc).__name__}): skipped")
        return None
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def _drop(url: str) -> None:
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    await admin.dispose()


async def _main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"identity roster import, {ROOMS} rooms (GBK CSV, {len(roster_csv()) / 1e6:.1f} MB), through HTTP:")
    with tempfile.TemporaryDirectory() as tmp:
        await _run(f"sqlite+aiosqlite:///{Path(tmp) / 'identity.db'}", "SQLite")
    url = await _pg_database()
    if url:
        try:
            await _run(url, "PostgreSQL")
        finally:
            await _drop(url)


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
