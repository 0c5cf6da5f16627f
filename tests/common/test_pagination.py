"""`keyset_page`: every list of the services pages through it, so its order, its cursors and
its answer to a forged cursor are tested here once, on the database the suite runs on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from services.common.db import create_engine, create_sessionmaker
from services.common.errors import BadRequest
from services.common.events.models import OutboxEvent
from services.common.pagination import (
    Keyset,
    encode_cursor,
    keyset_page,
    newest_first,
    page_sorted,
    parse_cursor,
)

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def session(database_urls: dict[str, str]):
    engine = create_engine(database_urls["repairs"])
    async with create_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


async def _events(session, created: list[datetime]) -> None:
    rows = [
        {"id": f"evt_{i:03d}", "type": "repairs.ticket.created", "payload": {}, "created_at": at,
         "fanned_out": True}
        for i, at in enumerate(created)
    ]
    await session.execute(insert(OutboxEvent.__table__), rows)
    await session.flush()


async def _all_pages(session, keyset: Keyset, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        items, cursor = await keyset_page(session, select(OutboxEvent), keyset, limit, cursor)
        pages.append([e.id for e in items])
        if cursor is None:
            return pages


async def test_newest_first_pages_through_every_row_once_with_ties_broken_by_id(session):
    # Four rows share one instant: the id decides among them, so no row is skipped or repeated
    # at a page boundary that falls inside the tie.
    await _events(session, [T0, T0 + timedelta(minutes=1)] + [T0 + timedelta(minutes=2)] * 4)
    pages = await _all_pages(session, newest_first(OutboxEvent), limit=3)
    assert pages == [["evt_005", "evt_004", "evt_003"], ["evt_002", "evt_001", "evt_000"]]


async def test_ascending_keyset_and_a_last_page_that_is_exactly_full(session):
    await _events(session, [T0 + timedelta(minutes=i) for i in range(4)])
    oldest_first = Keyset((OutboxEvent.created_at, OutboxEvent.id), ("datetime", "str"), descending=False)
    assert await _all_pages(session, oldest_first, limit=2) == [
        ["evt_000", "evt_001"], ["evt_002", "evt_003"]
    ]


async def test_column_rows_page_too(session):
    await _events(session, [T0 + timedelta(minutes=i) for i in range(3)])
    stmt = select(OutboxEvent.id, OutboxEvent.created_at)
    rows, cursor = await keyset_page(session, stmt, newest_first(OutboxEvent), 2, None)
    assert [r.id for r in rows] == ["evt_002", "evt_001"]
    rows, cursor = await keyset_page(session, stmt, newest_first(OutboxEvent), 2, cursor)
    assert [r.id for r in rows] == ["evt_000"] and cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64-!!",
        encode_cursor(["2026-11-01T08:00:00+00:00"]),  # wrong arity
        encode_cursor(["yesterday", "evt_1"]),  # not a datetime
        encode_cursor(["2026-11-01T08:00:00", "evt_1"]),  # naive: which zone?
        encode_cursor({"a": 1}),  # not a list
    ],
)
async def test_a_cursor_this_order_did_not_make_is_invalid_cursor(session, cursor):
    with pytest.raises(BadRequest) as caught:
        await keyset_page(session, select(OutboxEvent), newest_first(OutboxEvent), 2, cursor)
    assert caught.value.code == "invalid_cursor" and caught.value.status_code == 400


def test_integer_cursor_values_must_be_integers():
    keyset = Keyset((OutboxEvent.seq,), ("int",))
    assert keyset.parse(encode_cursor([7])) == [7]
    for bad in ("7", True, 1.5):
        with pytest.raises(BadRequest):
            keyset.parse(encode_cursor([bad]))


def test_a_list_sorted_in_memory_pages_with_the_same_cursors():
    items = [(0, -2.5, "b"), (0, -1.0, "a"), (1, -3.0, "c"), (1, -3.0, "d")]
    kinds = ("int", "float", "str")
    first, cursor = page_sorted(items, lambda i: i, parse_cursor(None, kinds), 2)
    assert first == items[:2] and cursor is not None
    rest, end = page_sorted(items, lambda i: i, parse_cursor(cursor, kinds), 2)
    assert rest == items[2:] and end is None
    for bad in (encode_cursor(["0", -1.0, "a"]), encode_cursor([0, "x", "a"]), encode_cursor([0, True, "a"])):
        with pytest.raises(BadRequest):
            parse_cursor(bad, kinds)
