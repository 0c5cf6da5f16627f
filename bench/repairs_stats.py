"""Times GET /communities/{cid}/repairs/stats over 100,000 tickets of one community, through
the repairs app, on SQLite and, when one is reachable, on PostgreSQL (BENCH_DATABASE_URL,
default the local trust-auth server).

    python -m bench.repairs_stats
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.migrations import upgrade
from services.common.tokens import AccessClaims, SigningKey, issue_access_token, jwks_document
from services.repairs.app import create_app
from services.repairs.models import Ticket
from services.repairs.rules import DEFAULT_CATEGORIES
from services.repairs.settings import Settings

TICKETS = 100_000
PG_ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
START = datetime(2026, 1, 1, tzinfo=UTC)


def rows(community_id: str, n: int = TICKETS, seed: int = 7) -> list[dict[str, object]]:
    """A year of tickets: most closed, some open, a few cancelled; realistic durations."""
    rnd = random.Random(seed)
    categories = [c.key for c in DEFAULT_CATEGORIES]
    statuses = ["closed"] * 70 + ["resolved"] * 8 + ["in_progress"] * 6 + ["assigned"] * 5 + [
        "accepted"] * 3 + ["submitted"] * 3 + ["cancelled"] * 5
    out = []
    for _ in range(n):
        created = START + timedelta(seconds=rnd.randrange(365 * 86400))
        status = rnd.choice(statuses)
        accepted = status not in ("submitted", "cancelled")
        resolved = status in ("resolved", "closed")
        accept_s = int(rnd.expovariate(1 / 240)) if accepted else None
        resolve_s = int(rnd.expovariate(1 / 20000)) + (accept_s or 0) if resolved else None
        out.append({
            "id": str(uuid.uuid4()), "community_id": community_id, "reporter_id": str(uuid.uuid4()),
            "kind": "repair", "category": rnd.choice(categories), "department": "repair",
            "room_id": None, "place": "3号楼", "location": "3号楼", "description": "水管漏水",
            "contact_phone": "13800138000", "photo_ids": [], "urgent": rnd.random() < 0.05,
            "content_check": "pass", "status": status, "assignee_id": None,
            "needs_reassignment": False, "reopen_count": 1 if rnd.random() < 0.04 else 0,
            "rating": rnd.randint(1, 5) if status == "closed" and rnd.random() < 0.6 else None,
            "created_at": created, "updated_at": created,
            "accept_seconds": accept_s, "resolve_seconds": resolve_s,
            "acknowledge_due_at": created + timedelta(minutes=5),
            "arrive_due_at": created + timedelta(hours=1),
            "resolve_due_at": created + timedelta(days=1),
            "next_due_at": created + timedelta(days=1),
            "acknowledge_breached": bool(accept_s and accept_s > 300), "arrive_breached": False,
            "resolve_breached": bool(resolve_s and resolve_s > 86400),
            "overdue": bool((accept_s and accept_s > 300) or (resolve_s and resolve_s > 86400)),
            "version": 1,
        })
    return out


async def _fill(url: str, community_id: str) -> float:
    engine = create_async_engine(url)
    data = rows(community_id)
    started = time.perf_counter()
    async with engine.begin() as conn:
        for i in range(0, len(data), 5000):
            await conn.execute(insert(Ticket), data[i : i + 5000])
    await engine.dispose()
    if url.startswith("postgresql"):
        # What autovacuum does soon after a bulk load: statistics, and the visibility map that
        # lets the statistics read the covering index alone.
        vacuum = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with vacuum.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE repair_tickets"))
        await vacuum.dispose()
    return time.perf_counter() - started


async def _time_stats(url: str, label: str) -> None:
    await asyncio.to_thread(upgrade, "repairs", url)
    cid = str(uuid.uuid4())
    fill = await _fill(url, cid)
    key = SigningKey.generate()
    settings = Settings(
        database_url=url, jwks_json=json.dumps(jwks_document([key])), scheduler_interval_seconds=0
    )
    app = create_app(settings)
    tok = issue_access_token(key, AccessClaims(account_id=str(uuid.uuid4()), staff={cid: {"role": "manager"}}))
    headers = {"Authorization": f"Bearer {tok}"}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        timings = {}
        for name, params in (
            ("whole year", {}),
            ("one quarter", {"from": "2026-04-01T00:00:00+08:00", "to": "2026-07-01T00:00:00+08:00"}),
        ):
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                r = await client.get(f"/communities/{cid}/repairs/stats", headers=headers, params=params)
                best = min(best, time.perf_counter() - t0)
                assert r.status_code == 200, r.text
            timings[name] = (best, r.json()["total"])
    for name, (seconds, total) in timings.items():
        print(f"{label:10} stats over {total:>6} tickets ({name}): {seconds * 1000:7.1f} ms  (fill {fill:.1f} s)")


async def _postgres_database() -> str | None:
    name = f"bench_repairs_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
    except (OSError, SQLAlchemyError):
        return None
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def _drop(url: str) -> None:
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    await admin.dispose()


async def _run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await _time_stats(f"sqlite+aiosqlite:///{Path(tmp) / 'repairs.db'}", "SQLite")
    pg = await _postgres_database()
    if pg is None:
        print("PostgreSQL  not reachable, skipped")
        return
    try:
        await _time_stats(pg, "PostgreSQL")
    finally:
        await _drop(pg)


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
