"""Cursor pagination: opaque cursors over a stable sort key, `?limit=&cursor=` in,
`{items, next_cursor}` out."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from services.common.errors import BadRequest

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
        raise BadRequest("分页游标无效", code="invalid_cursor") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise BadRequest("分页游标无效", code="invalid_cursor")
    return values


def page_of(rows: list[T], limit: int, key: Any) -> tuple[list[T], str | None]:
    """Given up to limit+1 rows, the page and the cursor to the next one (None at the end)."""
    if len(rows) > limit:
        page = rows[:limit]
        return page, encode_cursor(key(page[-1]))
    return rows, None
