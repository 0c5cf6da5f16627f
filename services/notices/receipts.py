"""Read receipts: a notice's reach in households (rooms in its audience with a verified
member), overall and by building; the unread households (whom to remind or call); and the CSV export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.csv_export import Row
from services.common.identity_replica.models import ReplicaRoom
from services.notices import journey_rules, rules
from services.notices.audience import bound_rooms_in_scope
from services.notices.models import Notice, NoticeRead


@dataclass(frozen=True)
class Household:
    room: ReplicaRoom
    read: bool


@dataclass(frozen=True)
class BuildingReach:
    building_id: str
    building_name: str
    targeted: int
    read: int


@dataclass(frozen=True)
class OwnerContact:
    name: str
    phone_masked: str | None


@dataclass(frozen=True)
class UnreadHousehold:
    room_id: str
    label: str
    building_id: str
    building_name: str
    owners: list[OwnerContact]
    # On the care list (关注特殊人群): why; such households come first.
    care_categories: list[str]


@dataclass(frozen=True)
class ReceiptsSummary:
    """What `GET /notices/{id}/receipts` answers (schemas.Receipts, field for field)."""

    notice_id: str
    targeted: int
    read: int
    by_building: list[BuildingReach]
    # Only for emergencies: whom to call.
    unread: list[UnreadHousehold]


async def households(session: AsyncSession, notice: Notice) -> list[Household]:
    """The targeted households (rooms in the audience with ≥ 1 verified member) and whether
    any member has read the notice."""
    rooms = await bound_rooms_in_scope(
        session, notice.community_id, **rules.audience_filter(notice.audience)
    )
    read_rooms = set(
        (
            await session.scalars(
                select(NoticeRead.room_id).where(NoticeRead.notice_id == notice.id).distinct()
            )
        ).all()
    )
    return [Household(r, r.room_id in read_rooms) for r in rooms]


def receipts_of(
    notice: Notice, rows: Sequence[Household], care: Mapping[str, list[str]] | None = None
) -> ReceiptsSummary:
    """`care`: room_id -> care categories of the households on the care list (care.py)."""
    care = care or {}
    names: dict[str, str] = {}
    targeted: dict[str, int] = {}
    read: dict[str, int] = {}
    for h in rows:
        b = h.room.building_id
        names.setdefault(b, h.room.building_name)
        targeted[b] = targeted.get(b, 0) + 1
        read[b] = read.get(b, 0) + int(h.read)
    by_building = [BuildingReach(b, names[b], targeted[b], read[b]) for b in names]
    # Whom to remind or call: every household that has not read it, the care list first.
    unread = [
        UnreadHousehold(
            room_id=h.room.room_id,
            label=h.room.label,
            building_id=h.room.building_id,
            building_name=h.room.building_name,
            owners=[
                OwnerContact(o.get("name") or "", o.get("phone_masked"))
                for o in h.room.owners or []
            ],
            care_categories=care.get(h.room.room_id, []),
        )
        for h in sorted(
            rows, key=lambda h: journey_rules.unread_call_order(h.room.room_id in care, h.room.label)
        )
        if not h.read
    ]
    return ReceiptsSummary(
        notice_id=notice.id,
        targeted=len(rows),
        read=sum(1 for h in rows if h.read),
        by_building=sorted(by_building, key=lambda b: b.building_name),
        unread=unread,
    )


# The receipts export's columns (`GET /notices/{id}/receipts?format=csv`).
CSV_HEADER = ["楼栋", "房号", "是否已读", "业主", "手机号（脱敏）"]


def receipts_csv_rows(rows: Sequence[Household]) -> list[Row]:
    """One line per targeted household, under `CSV_HEADER`: building, room, read, owners,
    masked phones. Written by services.common.csv_export, which makes a cell that starts like
    a formula (a roster name `=HYPERLINK(...)`) plain text and adds the BOM Excel needs."""
    return [
        [
            h.room.building_name,
            h.room.label,
            "已读" if h.read else "未读",
            "、".join(o.get("name") or "" for o in h.room.owners or []),
            "、".join(o.get("phone_masked") or "" for o in h.room.owners or []),
        ]
        for h in sorted(rows, key=lambda h: (h.room.building_name, h.room.label))
    ]
