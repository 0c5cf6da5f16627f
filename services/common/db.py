"""Async SQLAlchemy engine, the session-per-request unit of work, and model conventions."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import TypeDecorator

from services.common.sqlite_driver import one_hop_dbapi

# Stable constraint names, so migrations can name what they drop or alter.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops tzinfo otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine with sane defaults per backend: WAL and a busy timeout on SQLite."""
    if is_sqlite(url):
        # One thread hop per statement instead of four (sqlite_driver.py).
        kwargs.setdefault("module", one_hop_dbapi())
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # pysqlite's own transaction handling defers BEGIN; take the write lock at BEGIN
        # instead, so concurrent writers queue on busy_timeout rather than fail to upgrade.
        @event.listens_for(engine.sync_engine, "connect")
        def _no_pysqlite_begin(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # A read-only request's transaction takes no lock (WAL readers never wait for the
            # writer); everything else takes the write lock at BEGIN, as said above.
            read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _refuse_writes_when_read_only(
            conn: Any, cursor: Any, statement: str, *args: Any
        ) -> None:
            if conn.get_execution_options().get(READ_ONLY_OPTION) and _WRITE_RE.match(statement):
                # A programming error, caught by the tests: a deferred transaction that starts
                # writing can fail with SQLITE_BUSY_SNAPSHOT, so such a GET route must say so.
                raise ReadOnlyRequestWrote(
                    "a read-only request wrote: mark its endpoint with @writes_on_read"
                )

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


READ_ONLY_OPTION = "sqlite_read_only"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITE_RE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


class ReadOnlyRequestWrote(RuntimeError):
    """A GET (HEAD, OPTIONS) endpoint wrote without being marked `@writes_on_read`."""


_E = TypeVar("_E", bound=Callable[..., Any])


def writes_on_read(endpoint: _E) -> _E:
    """Marks a GET endpoint that writes (e.g. opening a notice records the read), so its
    request takes the write lock at BEGIN on SQLite like any other write."""
    endpoint.writes_on_read = True  # type: ignore[attr-defined]
    return endpoint


def _request_is_read_only(request: Request) -> bool:
    endpoint = request.scope.get("endpoint")
    return request.method in READ_ONLY_METHODS and not getattr(endpoint, "writes_on_read", False)


async def _session_per_request(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: committed here, after the handler, before the response.

    `scope="function"` below makes FastAPI run the commit before it sends the answer, so a
    failed commit is never reported to the client as a success. On SQLite a read-only request
    (GET, HEAD, OPTIONS, unless `@writes_on_read`) begins a plain deferred transaction, so it
    never queues behind a writer (a slow login, a roster import).
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            if _request_is_read_only(request) and dialect_name(session) == "sqlite":
                await session.connection(execution_options={READ_ONLY_OPTION: True})
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(_session_per_request, scope="function")]


def dialect_name(session: AsyncSession) -> str:
    """"postgresql" or "sqlite": the backend the session's unit of work runs on."""
    return session.get_bind().dialect.name


async def end_reads(session: AsyncSession) -> None:
    """Ends the unit of work so far, which only read (a community exists, a username is free, a
    stored hash), before slow work (Argon2, parsing an uploaded file): meanwhile the request
    holds no connection, and on SQLite no write lock (a POST begins with `BEGIN IMMEDIATE`),
    so other requests, logins included, do not queue behind it. The next statement begins a
    new transaction; what was read may have changed by then, so the writes that follow check
    again what they rely on (a unique key, a compare-and-set)."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_reads after a change: it would commit half a unit of work")
    await session.commit()


async def execute_dml(
    session: AsyncSession, statement: Executable, params: Any = None
) -> int:
    """Runs an INSERT/UPDATE/DELETE and returns how many rows it touched."""
    result = await session.execute(statement, params)
    return int(cast("CursorResult[Any]", result).rowcount or 0)


async def insert_ignoring_duplicates(
    session: AsyncSession, model: type[Any], rows: Sequence[dict[str, Any]]
) -> None:
    """Bulk insert (one executemany) that skips rows hitting a unique key, on either backend."""
    if not rows:
        return
    builder = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    # The Core table, not the ORM entity: the ORM's bulk path costs more per row than the
    # database does, and callers run this over thousands of rows.
    table = cast(Table, model.__table__)
    await session.execute(builder(table).on_conflict_do_nothing(), list(rows))

__all__ = [
    "Engine",
    "NAMING_CONVENTION",
    "SessionDep",
    "UTCDateTime",
    "create_engine",
    "create_sessionmaker",
    "dialect_name",
    "end_reads",
    "execute_dml",
    "insert_ignoring_duplicates",
    "new_id",
    "new_metadata",
    "utcnow",
    "writes_on_read",
]
