"""The yardstick of `python -m bench vote_day`: a minimal FastAPI + SQLAlchemy app that reads one
row per request, with a session per request, no auth and no middleware.

`uvicorn --factory bench.minimal_app:create_app`; env MINIMAL_DATABASE_URL (an SQLite file
under DATA_DIR by default).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException
from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "bench_items"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


def create_app() -> FastAPI:
    default = f"sqlite+aiosqlite:///{Path(os.environ.get('DATA_DIR', '.')) / 'minimal.db'}"
    url = os.environ.get("MINIMAL_DATABASE_URL") or default
    engine = create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # With `--workers 2` on PostgreSQL both workers get here at once: one creates the table
        # and the row, the other finds them there.
        with contextlib.suppress(IntegrityError, ProgrammingError):
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
        with contextlib.suppress(IntegrityError):
            async with sessions() as session:
                if await session.get(Item, "one") is None:
                    session.add(Item(id="one", name="一号"))
                    await session.commit()
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/items/{item_id}")
    async def read(item_id: str) -> dict[str, str]:
        async with sessions() as session:
            item = (await session.scalars(select(Item).where(Item.id == item_id))).first()
            if item is None:
                raise HTTPException(404)
            return {"id": item.id, "name": item.name}

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    return app
