"""aiosqlite without a thread round trip per call.

aiosqlite runs each call on the connection's own thread, and SQLAlchemy's adapter makes four
calls per statement (open a cursor, execute, fetch all, close) plus one per commit. Each call
is a round trip through a queue, a thread switch, a GIL hand-over and `call_soon_threadsafe`;
profiled on vote day's reads (bench/vote_day.py), these round trips were most of a read
request's cost, for statements that take SQLite tens of microseconds.

Here a statement runs in one go (open, execute, fetch all, close), on the event loop's thread,
and so do commit and rollback: with WAL, a reader never waits for a lock, and a writer took
the write lock at `BEGIN IMMEDIATE` so its statements and commit do not wait either. The one
statement that can wait — `BEGIN IMMEDIATE` queueing on `busy_timeout` behind another writer
— still goes to aiosqlite's thread, so the loop never blocks on a lock. The price: a long
query (a statistics scan) holds the loop for its duration instead of a thread; these are
rare, staff-only, and cost the same CPU either way.

Writers of one database in one process queue on an asyncio lock before `BEGIN IMMEDIATE`
(`WriterQueue`), held until the transaction's commit or rollback. Without it, thirty
concurrent write requests each sleep in SQLite's busy handler (growing steps, up to 100 ms)
and the dispatcher's claim, a login and a binding lose to whichever happens to retry first:
on vote day that was seconds of latency and a replica minutes behind. The queue hands the lock
over in arrival order without sleeping; other processes on the same file still meet the busy
timeout.

Same results, same errors (the adapter's own exception translation). Used by
`db.create_engine` for every SQLite engine (`module=`, SQLAlchemy's documented way to give a
dialect another DBAPI module; the connection is opened with `check_same_thread=False`, and the
adapter never runs two calls on one connection at once).
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
from collections.abc import Callable
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement, fetch and close run in one call on aiosqlite's
    thread; what the adapter reads afterwards (rows, description, rowcount, lastrowid) is kept
    here."""

    __slots__ = ("_description", "_rowcount", "_lastrowid")

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    def _run(self, many: bool, operation: Any, parameters: Any) -> None:
        conn: sqlite3.Connection = self._connection._conn
        may_wait = not many and operation.lstrip()[:15].upper() == "BEGIN IMMEDIATE"

        def work() -> tuple[Any, list[Any], int, int | None]:
            cursor = conn.cursor()
            try:
                if many:
                    cursor.executemany(operation, parameters)
                elif parameters is None:
                    cursor.execute(operation)
                else:
                    cursor.execute(operation, parameters)
                description = cursor.description
                rows = cursor.fetchall() if description else []
                return description, rows, cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        try:
            if may_wait:
                connection = cast(OneHopConnection, self._adapt_connection)
                await_(connection._queue_as_writer())
                try:
                    description, rows, rowcount, lastrowid = await_(self._connection._execute(work))
                except BaseException:
                    connection._leave_writers()  # no transaction began
                    raise
            else:
                # Through the greenlet bridge all the same (SQLAlchemy's async API checks that
                # a call went through it), but without leaving this thread.
                description, rows, rowcount, lastrowid = await_(_done(work()))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description = description
        self._rows = collections.deque(rows)
        self._rowcount = rowcount
        self._lastrowid = lastrowid

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(False, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(True, operation, seq_of_parameters)

    async def _async_soft_close(self) -> None:
        return None  # nothing open on the thread: the statement's cursor is already closed

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


async def _done(value: Any) -> Any:
    return value


# How long a writer waits for the in-process queue: the busy timeout it replaces (db.py).
WRITER_QUEUE_TIMEOUT_SECONDS = 30.0


class WriterQueue:
    """One FIFO lock per database file per event loop (tests run many loops one after another)."""

    _locks: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}

    @classmethod
    def lock_for(cls, database: str) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        held = cls._locks.get(database)
        if held is None or held[0] is not loop:
            held = cls._locks[database] = (loop, asyncio.Lock())
        return held[1]


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_database", "_writer_lock")
    _cursor_cls = OneHopCursor
    _database: str
    _writer_lock: asyncio.Lock | None

    async def _queue_as_writer(self) -> None:
        if self._writer_lock is not None or self._database in ("", ":memory:"):
            return
        lock = WriterQueue.lock_for(self._database)
        try:
            # asyncio.timeout, not wait_for: Lock.acquire hands the lock on when it is
            # cancelled after being woken, so a timed-out writer never keeps it.
            async with asyncio.timeout(WRITER_QUEUE_TIMEOUT_SECONDS):
                await lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self._writer_lock = lock

    def _leave_writers(self) -> None:
        lock, self._writer_lock = self._writer_lock, None
        if lock is not None:
            lock.release()

    def _end_transaction(self, end: Callable[[sqlite3.Connection], None]) -> None:
        """Commit or rollback on this thread; the writer's place in the queue goes either way."""
        try:
            if self._connection._connection:
                end(self._connection._conn)
                await_(_done(None))  # through the greenlet bridge, as SQLAlchemy expects
        except Exception as error:
            self._handle_exception(error)
        finally:
            self._leave_writers()

    def commit(self) -> None:
        self._end_transaction(sqlite3.Connection.commit)

    def rollback(self) -> None:
        self._end_transaction(sqlite3.Connection.rollback)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave_writers()

    def terminate(self) -> None:
        try:
            super().terminate()
        finally:
            self._leave_writers()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        # Statements run on the loop's thread too (see above); never two at once.
        kw["check_same_thread"] = False
        connection = aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True
        adapted = OneHopConnection(self, cast(Any, await_(connection)))
        database = arg[0] if arg else kw.get("database", "")
        adapted._database = str(database)
        adapted._writer_lock = None
        return adapted


def one_hop_dbapi() -> OneHopDBAPI:
    return OneHopDBAPI(aiosqlite, sqlite3)
