"""The consumer process of the event benchmarks: a receiver app (`create_service_app` on
repairs' settings) whose one handler appends a row to `bench_applied` inside the receiver's
transaction. `python -m bench.events_receiver --port 8102`."""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.events_harness import EVENT_TYPE, digest
from services.common.app import create_service_app
from services.common.db import utcnow
from services.common.events import EventHandlers, ReceivedEvent
from services.repairs.settings import Settings


def create_app() -> FastAPI:
    handlers = EventHandlers()

    @handlers.on(EVENT_TYPE)
    async def applied(session: AsyncSession, event: ReceivedEvent) -> None:
        latency = (utcnow() - event.created_at).total_seconds() * 1000 if event.created_at else None
        await session.execute(
            text(
                "INSERT INTO bench_applied (event_id, n, okey, digest, latency_ms) "
                "VALUES (:e, :n, :k, :d, :l)"
            ),
            {"e": event.id, "n": event.payload["n"], "k": event.payload["key"],
             "d": digest(event.payload), "l": latency},
        )

    return create_service_app(Settings(), title="bench-receiver", routers=[], event_handlers=handlers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
