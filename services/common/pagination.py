"""Cursor pagination: opaque cursors over a stable sort key, `?limit=&cursor=` in,
`{items, next_cursor}` out; `keyset_page` runs it over SQL, the one way every list pages, and
`page_sorted` over a list ordered in memory (a feed). Either way one parser reads a cursor
(`parse_cursor`): anything it did not make is 400 `invalid_cursor`."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.errors import InvalidCursor

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")]
CursorParam = Annotated[str | None, Query(max_length=512, description="上一页返回的 next_cursor")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """The sort key of the last item seen, or None for the first page."""
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidCursor()
    return values


CursorValue = Literal["datetime", "str", "int", "float"]


def parse_cursor(cursor: str | None, kinds: Sequence[CursorValue]) -> list[Any] | None:
    """The sort key of the last item seen, typed by `kinds`, or None for the first page; a
    cursor not made for this order is 400 `invalid_cursor`."""
    after = decode_cursor(cursor, len(kinds))
    if after is None:
        return None
    try:
        return [_parse_value(kind, value) for kind, value in zip(kinds, after, strict=True)]
    except (TypeError, ValueError) as exc:
        raise InvalidCursor() from exc


def _cursor_of(values: Sequence[Any]) -> str:
    return encode_cursor([v.isoformat() if isinstance(v, datetime) else v for v in values])


def page_sorted(
    items: Sequence[T], key: Callable[[T], Sequence[Any]], after: Sequence[Any] | None, limit: int
) -> tuple[list[T], str | None]:
    """One page of `items` (sorted ascending by `key`) past `after` (a `parse_cursor` result),
    and the cursor to the next page (None at the end)."""
    rest = list(items) if after is None else [i for i in items if tuple(key(i)) > tuple(after)]
    if len(rest) <= limit:
        return rest, None
    page = rest[:limit]
    return page, _cursor_of(key(page[-1]))


# --- keyset pagination over SQL ------------------------------------------------------------------


@dataclass(frozen=True)
class Keyset:
    """A total sort order for keyset pagination: columns compared left to right, all in one
    direction, the last one unique (an id), with the kind of each value in the cursor."""

    columns: tuple[Any, ...]
    kinds: tuple[CursorValue, ...]
    descending: bool = True

    def parse(self, cursor: str | None) -> list[Any] | None:
        """The sort key of the last item seen, typed, or None for the first page; a cursor
        this order did not make is 400 `invalid_cursor`."""
        return parse_cursor(cursor, self.kinds)

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly past `values` in this order: (a, b) < (x, y) as a OR-of-ANDs, which
        every backend plans as a range scan on the matching index."""
        terms = []
        for i, column in enumerate(self.columns):
            beyond = column < values[i] if self.descending else column > values[i]
            equal_before = [self.columns[j] == values[j] for j in range(i)]
            terms.append(and_(*equal_before, beyond))
        return or_(*terms)

    def order_by(self) -> list[Any]:
        return [c.desc() if self.descending else c.asc() for c in self.columns]

    def cursor_of(self, values: Sequence[Any]) -> str:
        return _cursor_of(values)


def _parse_value(kind: CursorValue, value: Any) -> Any:
    if kind == "datetime":
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError("naive datetime in cursor")
        return moment
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("not an integer")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("not a number")
        return float(value)
    return str(value)


def newest_first(model: Any) -> Keyset:
    """The usual list order: newest `created_at` first, ties broken by `id`."""
    return Keyset((model.created_at, model.id), ("datetime", "str"))


async def keyset_page(
    session: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    keyset: Keyset,
    limit: int,
    cursor: str | None,
    *,
    key: Callable[[Any], Sequence[Any]] | None = None,
) -> tuple[list[Any], str | None]:
    """One page of `stmt` in `keyset` order and the cursor to the next page (None at the end).

    `stmt` selecting one ORM entity yields the entities; selecting columns yields rows. `key`
    gives an item's sort values; by default the attributes named like the keyset's columns.
    """
    after = keyset.parse(cursor)
    if after is not None:
        stmt = stmt.where(keyset.after(after))
    stmt = stmt.order_by(*keyset.order_by()).limit(limit + 1)
    result = await session.execute(stmt)
    rows: list[Any] = list(result.scalars().all() if _single_entity(stmt) else result.all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    values = key(last) if key else [getattr(last, c.key) for c in keyset.columns]
    return rows, keyset.cursor_of(values)


def _single_entity(stmt: Select[*tuple[Any, ...]]) -> bool:
    descriptions = stmt.column_descriptions
    return len(descriptions) == 1 and isinstance(descriptions[0].get("entity"), type) and (
        descriptions[0].get("expr") is descriptions[0].get("entity")
    )
