"""Times a crew member's queue (GET /repairs?assignee=me&status=open, soonest deadline first)
for a crew member with 200 open tickets (and 2,000 done) in a 20,000-room community whose
100,000 tickets are spread over 40 crew members; through the repairs app, on SQLite and,
when reachable, PostgreSQL (BENCH_DATABASE_URL). Target: ≤ 50 ms.

    python -m bench crew_queue
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.repairs_stats import _drop, _postgres_database, rows
from services.common.identity_replica.models import ReplicaRoom, ReplicaStaff
from services.common.migrations import upgrade
from services.common.tokens import AccessClaims, SigningKey, issue_access_token, jwks_document
from services.repairs.app import create_app
from services.repairs.models import Ticket
from services.repairs.rules import QUEUE_STATUSES
from services.repairs.settings import Settings

ROOMS = 20_000
CREW = 40
OPEN = 200
DONE = 2_000
TARGET_MS = 50.0
RUNS = 30


def _tickets(cid: str, me: str, others: list[str]) -> list[dict[str, Any]]:
    rnd = random.Random(13)
    data = rows(cid)
    now = datetime.now(UTC)
    for i, row in enumerate(data):
        row["assignee_id"] = rnd.choice(others)
        if i < OPEN + DONE:
            row["assignee_id"] = me
            row["status"] = QUEUE_STATUSES[i % 3] if i < OPEN else "closed"
            row["next_due_at"] = now + timedelta(minutes=rnd.randrange(-600, 3000))
    return data


async def _fill(url: str, cid: str, me: str, others: list[str]) -> float:
    engine = create_async_engine(url)
    started = time.perf_counter()
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        rooms = [
            {"room_id": str(uuid.uuid4()), "community_id": cid, "building_id": f"b{i // 200}",
             "building_name": f"{i // 200 + 1}栋", "unit": None, "room_no": str(i % 200 + 101),
             "label": f"{i // 200 + 1}栋{i % 200 + 101}", "area": 90, "state": "delivered",
             "owner_key": None, "owners": [], "updated_at": now}
            for i in range(ROOMS)
        ]
        for i in range(0, ROOMS, 5000):
            await conn.execute(insert(ReplicaRoom), rooms[i : i + 5000])
        await conn.execute(insert(ReplicaStaff), [
            {"community_id": cid, "account_id": a, "staff_id": str(uuid.uuid4()), "name": "王师傅",
             "role": "crew", "department": "repair", "active": True, "updated_at": now}
            for a in [me, *others]
        ])
        data = _tickets(cid, me, others)
        for i in range(0, len(data), 5000):
            await conn.execute(insert(Ticket), data[i : i + 5000])
    await engine.dispose()
    if url.startswith("postgresql"):
        vacuum = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with vacuum.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE"))
        await vacuum.dispose()
    return time.perf_counter() - started


async def _time_queue(url: str, label: str) -> bool:
    await asyncio.to_thread(upgrade, "repairs", url)
    cid, me = str(uuid.uuid4()), str(uuid.uuid4())
    fill = await _fill(url, cid, me, [str(uuid.uuid4()) for _ in range(CREW - 1)])
    key = SigningKey.generate()
    settings = Settings(
        database_url=url, jwks_json=json.dumps(jwks_document([key])), scheduler_interval_seconds=0
    )
    app = create_app(settings)
    tok = issue_access_token(
        key, AccessClaims(account_id=me, staff={cid: {"role": "crew", "department": "repair"}})
    )
    headers = {"Authorization": f"Bearer {tok}"}
    ok = True
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        for name, params in (
            ("first page (20)", {"assignee": "me", "status": "open"}),
            ("100 a page", {"assignee": "me", "status": "open", "limit": "100"}),
            ("due soon", {"assignee": "me", "status": "open", "due_soon": "true"}),
        ):
            times = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                r = await client.get("/repairs", headers=headers, params=params)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
            items = r.json()["items"]
            dues = [i["next_due_at"] for i in items]
            assert dues == sorted(dues) and items, "queue out of order or empty"
            median = statistics.median(times)
            p95 = sorted(times)[int(RUNS * 0.95) - 1]
            ok = ok and median <= TARGET_MS
            print(f"{label:10} crew queue, {name:15}: median {median:6.1f} ms, p95 {p95:6.1f} ms "
                  f"({len(items)} items; target ≤ {TARGET_MS:.0f} ms; fill {fill:.1f} s)")
    return ok


async def _run() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        ok = await _time_queue(f"sqlite+aiosqlite:///{Path(tmp) / 'repairs.db'}", "SQLite")
    pg = await _postgres_database()
    if pg is None:
        print("PostgreSQL  not reachable, skipped")
        return ok
    try:
        return await _time_queue(pg, "PostgreSQL") and ok
    finally:
        await _drop(pg)


def main() -> int:
    return 0 if asyncio.run(_run()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
