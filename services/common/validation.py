"""Input types shared by the services' schemas, for values every service reads the same way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime

# `?community_id=` as every service reads it (the home parts, notices' community-wide lists).
CommunityQuery = Annotated[str, Query(min_length=1, max_length=36)]


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC. A ValueError with a Chinese message (a 422 through the error
    handler) when that instant falls outside the years 1..9999, e.g. 0001-01-01T00:00:00+08:00
    or 9999-12-31T23:59:59-01:00: such a value would otherwise fail deep in a query as a 500.
    Naive values pass unchanged; refusing them is the caller's rule (see `UtcDatetime`)."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("时间超出可表示的范围") from None


# An aware datetime (naive ones are refused, 422 `timezone_aware`), converted to UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(to_utc)]
