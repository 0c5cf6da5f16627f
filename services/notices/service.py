"""Notices use cases: drafting and the workflow, the owner's feed and reads, receipts,
delivery to inboxes and push queues, the scheduler, subscriptions. Flush, never commit."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import new_id
from services.common.errors import BadRequest
from services.common.events import emit
from services.common.identity_replica import queries
from services.common.identity_replica.models import ReplicaBinding, ReplicaRoom
from services.common.pagination import decode_cursor, encode_cursor
from services.notices import rules
from services.notices.errors import (
    InboxEntryNotFound,
    InvalidNotice,
    NoticeNotFound,
    UnknownTemplate,
)
from services.notices.models import (
    CommunityConfig,
    FanoutJob,
    InboxEntry,
    Notice,
    NoticeRead,
    PushConsent,
    PushMessage,
    PushRecipient,
)
from services.notices.runtime import Runtime
from services.notices.schemas import NoticeCreate

# --- helpers --------------------------------------------------------------------------


async def insert_ignoring_duplicates(
    session: AsyncSession, model: type, rows: Sequence[dict[str, Any]]
) -> None:
    """Bulk insert (one executemany) that skips rows hitting a unique key."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    # The Core table, not the ORM entity: the ORM's bulk path costs more per row than the
    # database does, and these run over thousands of rows per notice.
    await session.execute(builder(model.__table__).on_conflict_do_nothing(), list(rows))


async def newest_first(
    session: AsyncSession, stmt: Select[Any], model: Any, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """A page of `stmt`'s rows by (created_at, id) descending, keyset-paginated."""
    after = decode_cursor(cursor, 2)
    if after is not None:
        try:
            created = datetime.fromisoformat(str(after[0]))
        except ValueError:
            raise BadRequest("分页游标无效", code="invalid_cursor") from None
        if created.tzinfo is None:
            raise BadRequest("分页游标无效", code="invalid_cursor")
        stmt = stmt.where(
            (model.created_at < created)
            | ((model.created_at == created) & (model.id < str(after[1])))
        )
    ordered = stmt.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(ordered)).all())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id])
    return rows, None


async def is_single_manager(session: AsyncSession, community_id: str) -> bool:
    config = await session.get(CommunityConfig, community_id)
    return bool(config and config.settings.get("single_manager"))


async def set_single_manager(
    session: AsyncSession, community_id: str, value: bool, now: datetime
) -> None:
    config = await session.get(CommunityConfig, community_id)
    if config is None:
        session.add(
            CommunityConfig(
                community_id=community_id, settings={"single_manager": value}, updated_at=now
            )
        )
    else:
        config.settings = {**config.settings, "single_manager": value}
        config.updated_at = now
    await session.flush()


# --- drafting and the workflow -------------------------------------------------------


async def _validate_audience(
    session: AsyncSession, community_id: str, audience: dict[str, Any]
) -> None:
    kind = audience["kind"]
    if kind == "buildings":
        if not audience["building_ids"]:
            raise InvalidNotice("请选择至少一栋楼", code="audience_empty")
        unknown = set(audience["building_ids"]) - await queries.known_building_ids(
            session, community_id
        )
        if unknown:
            raise InvalidNotice(
                "发布范围中有本小区不存在的楼栋",
                code="unknown_buildings",
                details={"building_ids": sorted(unknown)},
            )
    elif kind == "units":
        if not audience["units"]:
            raise InvalidNotice("请选择至少一个单元", code="audience_empty")
        known = await queries.known_units(session, community_id)
        unknown_units = [u for u in audience["units"] if (u["building_id"], u["unit"]) not in known]
        if unknown_units:
            raise InvalidNotice(
                "发布范围中有本小区不存在的单元",
                code="unknown_units",
                details={"units": unknown_units},
            )
    elif kind == "roles" and not audience["roles"]:
        raise InvalidNotice("请选择发布对象（业主、家属或租户）", code="audience_empty")


async def create_notice(
    session: AsyncSession, rt: Runtime, author_id: str, data: NoticeCreate
) -> Notice:
    now = rt.clock.now()
    settings = rt.settings
    title = data.title.strip()
    body = data.body.strip()
    if not title or not body:
        raise InvalidNotice("标题和正文不能为空", code="notice_empty")
    if len(title) > settings.title_max_chars:
        raise InvalidNotice(f"标题不能超过 {settings.title_max_chars} 个字", code="title_too_long")
    if len(body) > settings.body_max_chars:
        raise InvalidNotice(f"正文不能超过 {settings.body_max_chars} 个字", code="body_too_long")
    if rules.looks_like_markup(title) or rules.looks_like_markup(body):
        raise InvalidNotice("公告只支持纯文本，不能包含 HTML 标签或脚本", code="markup_not_allowed")
    if data.category == "emergency" and data.expires_at is None:
        raise InvalidNotice("紧急通知必须设置失效时间", code="expiry_required")
    if data.expires_at is not None:
        if data.expires_at <= now:
            raise InvalidNotice("失效时间必须晚于当前时间", code="expiry_in_past")
        if data.publish_at is not None and data.expires_at <= data.publish_at:
            raise InvalidNotice("失效时间必须晚于发布时间", code="expiry_before_publish")
    audience = rules.normalize_audience(data.audience.model_dump())
    await _validate_audience(session, data.community_id, audience)
    notice = Notice(
        id=new_id(),
        community_id=data.community_id,
        author_id=author_id,
        title=title,
        body=body,
        category=data.category,
        audience=audience,
        pinned=data.pinned,
        status="draft",
        publish_at=data.publish_at,
        expires_at=data.expires_at,
        created_at=now,
        updated_at=now,
    )
    session.add(notice)
    await session.flush()
    return notice


async def transition(
    session: AsyncSession, rt: Runtime, notice: Notice, action: str, actor_id: str
) -> Notice:
    now = rt.clock.now()
    state = rules.NoticeState(notice.status, notice.category, notice.author_id, notice.publish_at)
    single = action == "approve" and await is_single_manager(session, notice.community_id)
    target = rules.next_status(state, action, actor_id=actor_id, single_manager=single, now=now)
    if target == "published" and rules.is_expired(notice.expires_at, now):
        raise InvalidNotice("公告已过失效时间，不能发布", code="notice_expired")
    notice.updated_at = now
    if action == "submit":
        notice.submitted_at = now
    elif action == "approve":
        notice.approved_by, notice.approved_at = actor_id, now
    elif action == "withdraw":
        await _withdraw(session, notice, now)
    if target == "published":
        await publish(session, notice, now)
    else:
        notice.status = target
    await session.flush()
    return notice


async def publish(session: AsyncSession, notice: Notice, now: datetime) -> None:
    """Marks the notice published and queues its delivery; the worker does the fan-out."""
    notice.status = "published"
    notice.published_at = now
    notice.updated_at = now
    message = rules.InboxMessage(
        kind="notice_" + notice.category,
        title=notice.title,
        text=rules.excerpt(notice.body),
        link=rules.NOTICE_LINK.format(notice.id),
        purpose="notice",
        urgent=notice.category == "emergency",
    )
    await queue_fanout(
        session, notice.community_id, notice.audience, message, f"notice:{notice.id}", now
    )
    emit(
        session,
        "notices.notice.published",
        {
            "community_id": notice.community_id,
            "notice_id": notice.id,
            "category": notice.category,
            "title": notice.title,
            "audience": notice.audience,
        },
        ordering_key=notice.id,
    )


async def _withdraw(session: AsyncSession, notice: Notice, now: datetime) -> None:
    """Stops what has not gone out yet and takes the notice out of inboxes."""
    notice.withdrawn_at = now
    key = f"notice:{notice.id}"
    await session.execute(
        update(FanoutJob)
        .where(FanoutJob.source_key == key, FanoutJob.status == "pending")
        .values(status="cancelled", finished_at=now)
    )
    await session.execute(
        update(PushMessage)
        .where(PushMessage.source_key == key, PushMessage.status == "pending")
        .values(status="cancelled")
    )
    await session.execute(delete(InboxEntry).where(InboxEntry.source_key == key))


async def run_scheduler(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """Publishes scheduled notices that are due and hides expired ones."""
    due = (
        await session.scalars(
            select(Notice).where(Notice.status == "scheduled", Notice.publish_at <= now)
        )
    ).all()
    for notice in due:
        await publish(session, notice, now)
    expired = await session.execute(
        update(Notice)
        .where(Notice.status == "published", Notice.expires_at <= now)
        .values(status="expired", expired_at=now, updated_at=now)
    )
    await session.flush()
    return len(due), expired.rowcount or 0


# --- the owner's side: feed, opening a notice ----------------------------------------

Membership = tuple[ReplicaBinding, ReplicaRoom]


def _targeted_rooms(notice: Notice, memberships: Sequence[Membership]) -> list[str]:
    return rules.unique(
        room.room_id
        for binding, room in memberships
        if rules.targets(
            notice.audience, building_id=room.building_id, unit=room.unit, relation=binding.relation
        )
    )


def _visible(notice: Notice, now: datetime) -> bool:
    return notice.status == "published" and not rules.is_expired(notice.expires_at, now)


async def feed(
    session: AsyncSession,
    account_id: str,
    community_id: str,
    now: datetime,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Notice, bool]], str | None]:
    """Published notices that target one of the caller's verified rooms, pinned and
    emergency first, then newest; each with whether the caller has read it."""
    after = decode_cursor(cursor, 3)
    memberships = await queries.bindings_with_rooms(session, account_id, community_id)
    if not memberships:
        return [], None
    candidates = (
        await session.scalars(
            select(Notice).where(Notice.community_id == community_id, Notice.status == "published")
        )
    ).all()
    visible = [n for n in candidates if _visible(n, now) and _targeted_rooms(n, memberships)]
    keyed = sorted(
        (
            (rules.feed_key(n.pinned, n.category, n.published_at or n.created_at, n.id), n)
            for n in visible
        ),
        key=lambda kn: kn[0],
    )
    if after is not None:
        try:
            last = (int(after[0]), float(after[1]), str(after[2]))
        except (TypeError, ValueError):
            raise BadRequest("分页游标无效", code="invalid_cursor") from None
        keyed = [kn for kn in keyed if kn[0] > last]
    page = keyed[:limit]
    next_cursor = encode_cursor(list(page[-1][0])) if len(keyed) > limit else None
    ids = [n.id for _, n in page]
    read = (
        set(
            (
                await session.scalars(
                    select(NoticeRead.notice_id).where(
                        NoticeRead.account_id == account_id, NoticeRead.notice_id.in_(ids)
                    )
                )
            ).all()
        )
        if ids
        else set()
    )
    return [(n, n.id in read) for _, n in page], next_cursor


async def manager_list(
    session: AsyncSession, community_id: str, status: str | None, limit: int, cursor: str | None
) -> tuple[list[Notice], str | None]:
    """Every notice of the community for the console, newest first."""
    stmt = select(Notice).where(Notice.community_id == community_id)
    if status:
        stmt = stmt.where(Notice.status == status)
    return await newest_first(session, stmt, Notice, limit, cursor)


async def open_notice(
    session: AsyncSession, account_id: str, notice_id: str, now: datetime
) -> Notice:
    """The notice, if it targets the caller; records the read once per account and household."""
    notice = await session.get(Notice, notice_id)
    if notice is None or not _visible(notice, now):
        raise NoticeNotFound()
    memberships = await queries.bindings_with_rooms(session, account_id, notice.community_id)
    rooms = _targeted_rooms(notice, memberships)
    if not rooms:
        raise NoticeNotFound()
    await insert_ignoring_duplicates(
        session,
        NoticeRead,
        [
            {
                "notice_id": notice.id,
                "account_id": account_id,
                "room_id": r,
                "community_id": notice.community_id,
                "read_at": now,
            }
            for r in rooms
        ],
    )
    return notice


# --- receipts -------------------------------------------------------------------------


@dataclass
class Household:
    room: ReplicaRoom
    read: bool


async def households(session: AsyncSession, notice: Notice) -> list[Household]:
    """The targeted households (rooms in the audience with ≥ 1 verified member) and whether
    any member has read the notice."""
    rooms = await queries.bound_rooms_in_scope(
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


def receipts_of(notice: Notice, rows: Sequence[Household]) -> dict[str, Any]:
    by_building: dict[str, dict[str, Any]] = {}
    for h in rows:
        b = by_building.setdefault(
            h.room.building_id,
            {
                "building_id": h.room.building_id,
                "building_name": h.room.building_name,
                "targeted": 0,
                "read": 0,
            },
        )
        b["targeted"] += 1
        b["read"] += int(h.read)
    unread = None
    if notice.category == "emergency":
        unread = [
            {
                "room_id": h.room.room_id,
                "label": h.room.label,
                "building_id": h.room.building_id,
                "building_name": h.room.building_name,
                "owners": [
                    {"name": o.get("name") or "", "phone_masked": o.get("phone_masked")}
                    for o in h.room.owners or []
                ],
            }
            for h in sorted(rows, key=lambda h: h.room.label)
            if not h.read
        ]
    return {
        "notice_id": notice.id,
        "targeted": len(rows),
        "read": sum(1 for h in rows if h.read),
        "by_building": sorted(by_building.values(), key=lambda b: b["building_name"]),
        "unread": unread,
    }


def receipts_csv_rows(rows: Sequence[Household]) -> list[list[str]]:
    """One line per targeted household: building, room, read, owners, masked phones."""
    out = [["楼栋", "房号", "是否已读", "业主", "手机号（脱敏）"]]
    for h in sorted(rows, key=lambda h: (h.room.building_name, h.room.label)):
        owners = h.room.owners or []
        out.append(
            [
                h.room.building_name,
                h.room.label,
                "已读" if h.read else "未读",
                "、".join(o.get("name") or "" for o in owners),
                "、".join(o.get("phone_masked") or "" for o in owners),
            ]
        )
    return out


# --- delivery: inbox entries and push queue -------------------------------------------


async def deliver(
    session: AsyncSession,
    rt: Runtime,
    community_id: str,
    account_ids: Sequence[str],
    message: rules.InboxMessage,
    source_key: str,
    now: datetime,
) -> None:
    """Inbox entries for the accounts, and a queued push for each that has an openid and an
    unused consent of the purpose's template (the consent is used up here, atomically).
    Accounts that already have the entry (a redelivered event) get neither again."""
    done = set(
        (
            await session.scalars(
                select(InboxEntry.account_id).where(
                    InboxEntry.source_key == source_key,
                    InboxEntry.account_id.in_(list(account_ids)),
                )
            )
        ).all()
    )
    account_ids = [a for a in account_ids if a not in done]
    if not account_ids:
        return
    await insert_ignoring_duplicates(
        session,
        InboxEntry,
        [
            {
                "id": new_id(),
                "community_id": community_id,
                "account_id": a,
                "kind": message.kind,
                "title": message.title[:100],
                "text": message.text[:300],
                "link": message.link,
                "source_key": source_key,
                "created_at": now,
                "read_at": None,
            }
            for a in account_ids
        ],
    )
    template = rt.settings.templates()[message.purpose]
    openids = dict(
        (
            await session.execute(
                select(PushRecipient.account_id, PushRecipient.openid).where(
                    PushRecipient.account_id.in_(list(account_ids))
                )
            )
        ).all()
    )
    if not openids:
        return
    consumed = (
        (
            await session.execute(
                update(PushConsent)
                .where(
                    PushConsent.template_id == template,
                    PushConsent.account_id.in_(list(openids)),
                    PushConsent.remaining > 0,
                )
                .values(remaining=PushConsent.remaining - 1, updated_at=now)
                .returning(PushConsent.account_id)
                .execution_options(synchronize_session=False)
            )
        )
        .scalars()
        .all()
    )
    if not consumed:
        return
    when = rules.release_time(now, urgent=message.urgent)
    data = rules.push_data(message.title, message.text, now)
    await session.execute(
        insert(PushMessage.__table__),
        [
            {
                "id": new_id(),
                "community_id": community_id,
                "account_id": a,
                "openid": openids[a],
                "template_id": template,
                "page": message.link,
                "data": data,
                "source_key": source_key,
                "urgent": message.urgent,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": when,
                "created_at": now,
            }
            for a in consumed
        ],
    )


def message_of_job(job: FanoutJob) -> rules.InboxMessage:
    return rules.InboxMessage(**job.message)


async def fanout_step(session: AsyncSession, rt: Runtime, job: FanoutJob, now: datetime) -> bool:
    """Delivers the next batch of a job's audience; True when the job is done."""
    batch = rt.settings.fanout_batch_size
    accounts = await queries.account_ids_in_scope(
        session,
        job.community_id,
        **rules.audience_filter(job.audience),
        after=job.cursor,
        limit=batch,
    )
    if accounts:
        await deliver(
            session, rt, job.community_id, accounts, message_of_job(job), job.source_key, now
        )
        job.cursor = accounts[-1]
        job.delivered += len(accounts)
    if len(accounts) < batch:
        job.status = "done"
        job.finished_at = now
    await session.flush()
    return job.status == "done"


async def queue_fanout(
    session: AsyncSession,
    community_id: str,
    audience: dict[str, Any],
    message: rules.InboxMessage,
    source_key: str,
    now: datetime,
) -> None:
    """A durable job delivering `message` to every account of the audience. A redelivered
    event (same source) queues nothing more."""
    existing = await session.scalar(
        select(FanoutJob.id).where(FanoutJob.source_key == source_key).limit(1)
    )
    if existing is not None:
        return
    session.add(
        FanoutJob(
            id=new_id(),
            community_id=community_id,
            audience=audience,
            message=dataclasses.asdict(message),
            source_key=source_key,
            status="pending",
            delivered=0,
            created_at=now,
        )
    )
    await session.flush()


# --- pushes: applying WeChat's answers ------------------------------------------------


def retry_at(rt: Runtime, attempts: int, now: datetime, urgent: bool) -> datetime:
    backoff = rt.settings.push_backoff_seconds * (2 ** max(attempts - 1, 0))
    return rules.release_time(now + timedelta(seconds=backoff), urgent=urgent)


# --- inbox ----------------------------------------------------------------------------


async def inbox_page(
    session: AsyncSession, account_id: str, limit: int, cursor: str | None
) -> tuple[list[InboxEntry], str | None]:
    stmt = select(InboxEntry).where(InboxEntry.account_id == account_id)
    return await newest_first(session, stmt, InboxEntry, limit, cursor)


async def unread_count(session: AsyncSession, account_id: str) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(InboxEntry)
            .where(InboxEntry.account_id == account_id, InboxEntry.read_at.is_(None))
        )
        or 0
    )


async def mark_read(
    session: AsyncSession, account_id: str, entry_id: str, now: datetime
) -> InboxEntry:
    entry = await session.get(InboxEntry, entry_id)
    if entry is None or entry.account_id != account_id:
        raise InboxEntryNotFound()
    if entry.read_at is None:
        entry.read_at = now
        await session.flush()
    return entry


# --- subscriptions --------------------------------------------------------------------


async def consents_of(session: AsyncSession, rt: Runtime, account_id: str) -> dict[str, Any]:
    templates = rt.settings.templates()
    rows = dict(
        (
            await session.execute(
                select(PushConsent.template_id, PushConsent.remaining).where(
                    PushConsent.account_id == account_id
                )
            )
        ).all()
    )
    return {
        "templates": [{"template_id": t, "purpose": p} for p, t in templates.items()],
        "consents": {t: int(rows.get(t, 0)) for t in templates.values()},
    }


async def grant_consents(
    session: AsyncSession, rt: Runtime, account_id: str, template_ids: Sequence[str], now: datetime
) -> None:
    known = set(rt.settings.templates().values())
    unknown = sorted(set(template_ids) - known)
    if unknown:
        raise UnknownTemplate(details={"template_ids": unknown})
    for template_id in template_ids:
        row = await session.get(PushConsent, (account_id, template_id))
        if row is None:
            session.add(
                PushConsent(
                    account_id=account_id, template_id=template_id, remaining=1, updated_at=now
                )
            )
        else:
            row.remaining += 1
            row.updated_at = now
        await session.flush()


async def record_openid(session: AsyncSession, account_id: str, openid: str, now: datetime) -> None:
    row = await session.get(PushRecipient, account_id)
    if row is None:
        session.add(PushRecipient(account_id=account_id, openid=openid, updated_at=now))
    else:
        row.openid, row.updated_at = openid, now
    await session.flush()


async def forget_account(session: AsyncSession, account_id: str) -> None:
    """The account was deleted: its openid, consents, inbox and queued pushes go."""
    for model in (PushRecipient, PushConsent, InboxEntry):
        await session.execute(delete(model).where(model.account_id == account_id))
    await session.execute(
        delete(PushMessage).where(
            PushMessage.account_id == account_id, PushMessage.status == "pending"
        )
    )
