"""Tally speed: a 20,000-room electorate with 15,000 ballots on two motions (target <= 200 ms).

Times `tally.compute_results` (the results endpoint's work: a few grouped queries on covering
indexes, then the pure tally per motion), for the default headcount mode and for one that
needs the room details of owners who split their votes, on SQLite, and on PostgreSQL when one answers at
BENCH_DATABASE_URL / TEST_DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres).

Run: `python -m bench.votes_tally` (or `python -m bench votes_tally`, `make bench`).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text

from bench.support import on_sqlite_and_postgres
from services.common.db import create_engine, create_sessionmaker, utcnow
from services.votes import rules, tally, tally_rules
from services.votes.models import Ballot, BallotAnswer, Elector, Vote, VoteItem

ROOMS = 20_000
BALLOTS = 15_000
RUNS = 7
TARGET_MS = 200.0


async def _seed(url: str) -> str:
    rng = random.Random(278)
    engine = create_engine(url)
    cid, vid = str(uuid.uuid4()), str(uuid.uuid4())
    now = utcnow()
    motions = [str(uuid.uuid4()), str(uuid.uuid4())]
    async with engine.begin() as conn:
        await conn.execute(
            Vote.__table__.insert(),
            [
                {
                    "id": vid, "community_id": cid, "kind": "vote", "title": "bench", "description": "",
                    "building_ids": None, "opens_at": None, "closes_at": now + timedelta(days=7),
                    "allow_change": False, "anonymous": False, "live_results": True, "status": "open",
                    "tally_settings": None, "results": None, "created_by": "bench", "created_at": now,
                    "updated_at": now, "opened_at": now, "closed_at": None, "closing_soon_sent": False,
                }
            ],
        )
        await conn.execute(
            VoteItem.__table__.insert(),
            [
                {"id": m, "vote_id": vid, "community_id": cid, "position": n, "kind": "motion", "title": f"m{n}",
                 "matter": ("major", "ordinary")[n], "max_choices": 1,
                 "options": [{"id": o, "label": o} for o in ("agree", "disagree", "abstain")]}
                for n, m in enumerate(motions)
            ],
        )
        rooms = []
        units: dict[str, int] = {}
        for n in range(ROOMS):
            state = "unsold" if n % 50 == 0 else ("sold" if n % 50 == 1 else "delivered")
            # Every 20th buyer holds a second room.
            key = None if state == "unsold" else f"owner-{n - 1 if n % 20 == 3 else n}"
            rooms.append(
                {"vote_id": vid, "room_id": str(uuid.uuid4()), "community_id": cid, "building_id": f"b{n // 400}",
                 "label": f"{n // 400}栋{n % 400}", "area_hundredths": rng.randint(4000, 20000),
                 "state": state, "owner_key": key}
            )
            unit = tally_rules.owner_unit(tally_rules.Elector(rooms[-1]["room_id"], Decimal(0), state, key))
            rooms[-1]["owner_unit"] = units.setdefault(unit, len(units))
            rooms[-1]["unit"] = unit
        held: dict[str, int] = {}
        for r in rooms:
            held[r["unit"]] = held.get(r["unit"], 0) + 1
        for r in rooms:
            r["multi_room"] = held[r.pop("unit")] > 1
        await conn.execute(Elector.__table__.insert(), rooms)
        voters = rng.sample(rooms, BALLOTS)
        ballots = [
            {"id": str(uuid.uuid4()), "vote_id": vid, "community_id": cid, "room_id": r["room_id"],
             "active_room_id": r["room_id"], "cast_by": str(uuid.uuid4()), "cast_at": now, "replaced_at": None}
            for r in voters
        ]
        await conn.execute(Ballot.__table__.insert(), ballots)
        choices = ("agree",) * 6 + ("disagree",) * 3 + ("abstain",)
        await conn.execute(
            BallotAnswer.__table__.insert(),
            [
                {"vote_id": vid, "community_id": cid, "ballot_id": b["id"], "item_id": m,
                 "option_id": rng.choice(choices), "text": None, "standing": True, "room_id": r["room_id"],
                 "owner_unit": r["owner_unit"], "multi_room": r["multi_room"],
                 "area_hundredths": r["area_hundredths"]}
                for b, r in zip(ballots, voters, strict=False)
                for m in motions
            ],
        )
    await engine.dispose()
    return vid


MODES = ("unanimous", "area_majority")


async def _time(url: str, backend: str) -> None:
    vid = await _seed(url)
    engine = create_engine(url)
    if backend == "postgresql":
        async with engine.connect() as conn:  # what autovacuum does after a bulk load
            await conn.execute(text("ANALYZE"))
    sessionmaker = create_sessionmaker(engine)
    for mode in MODES:
        timings = []
        for _ in range(RUNS):
            async with sessionmaker() as session:
                vote = await session.get(Vote, vid)
                assert vote is not None
                vote.tally_settings = {**rules.DEFAULT_COMMUNITY_SETTINGS, "multi_room_headcount": mode}
                started = time.perf_counter()
                results = await tally.compute_results(session, vote)
                timings.append((time.perf_counter() - started) * 1000)
                await session.rollback()
        assert results["electorate_rooms"] == ROOMS and results["ballots"] == BALLOTS
        _report(backend, mode, timings)
    await engine.dispose()


OVER: list[str] = []


def _report(backend: str, mode: str, timings: list[float]) -> None:
    median = statistics.median(timings)
    if median > TARGET_MS:
        OVER.append(f"{backend}/{mode}")
    verdict = "OK" if median <= TARGET_MS else "OVER TARGET"
    print(
        f"votes tally {backend} ({mode} headcount): {ROOMS} rooms, {BALLOTS} ballots, 2 motions: "
        f"median {median:.1f} ms, best {min(timings):.1f} ms, worst {max(timings):.1f} ms "
        f"(target <= {TARGET_MS:.0f} ms) {verdict}",
        flush=True,
    )


async def _main() -> None:
    await on_sqlite_and_postgres("votes", "votes tally", _time)


def main() -> int:
    """Prints the figures; non-zero when a median misses the target (bench/__main__.py)."""
    asyncio.run(_main())
    return 1 if OVER else 0


if __name__ == "__main__":
    raise SystemExit(main())
