"""The notices service's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.community_settings import CommunityConfigColumns
from services.common.db import UTCDateTime, new_id, new_metadata, utcnow


class Base(DeclarativeBase):
    # A Table, not just a FromClause: Core inserts and updates take it (typed for mypy).
    __table__: ClassVar[Table]
    metadata = new_metadata()


class CommunityConfig(CommunityConfigColumns, Base):
    """Per-community settings of this service (key: identity's community id); the keys and
    their defaults are `rules.DEFAULT_COMMUNITY_SETTINGS`."""


class Notice(Base):
    """A notice and where it stands in its workflow. The body is plain text, never markup."""

    __tablename__ = "notices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(String(36))
    author_id: Mapped[str] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    # {"kind": community|buildings|units, "building_ids": [...], "units": [{building_id, unit}],
    #  "roles": [owner|family|tenant] or null for every verified member}
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(36))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last re-push to the households that had not read it (resend.py), for its limit.
    last_resent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resend_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_notices_community_status", "community_id", "status"),
        Index("ix_notices_status_publish_at", "status", "publish_at"),
    )


class NoticeAttachment(Base):
    """A picture (cleaned like a repair photo) or a PDF file of a notice, in upload order."""

    __tablename__ = "notice_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    notice_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(10))  # image | pdf
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # The stored file's name (our id and extension), and the name shown for a PDF.
    filename: Mapped[str] = mapped_column(String(60))
    display_name: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_notice_attachments_notice", "notice_id", "created_at"),)


class NoticeRead(Base):
    """One account opened a notice, for one of its targeted households (rooms)."""

    __tablename__ = "notice_reads"

    notice_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_notice_reads_notice_room", "notice_id", "room_id"),)


class FanoutJob(Base):
    """Durable background work: deliver one message to every account of an audience, in
    batches ordered by account id (`cursor` = the last account done)."""

    __tablename__ = "fanout_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(String(36))
    # Targeting: {"building_ids": [...]|null, "units": [...]|null, "roles": [...]|null}
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    # {kind, title, text, link, purpose, urgent, source_key}
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What caused it ("notice:<id>", "event:<id>"), to cancel it when a notice is withdrawn.
    source_key: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    cursor: Mapped[str | None] = mapped_column(String(36))
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_fanout_jobs_status", "status", "created_at"),
        Index("ix_fanout_jobs_source_key", "source_key"),
    )


class InboxEntry(Base):
    """A personal notification: short Chinese text and where the Mini Program opens it."""

    __tablename__ = "inbox_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(String(36))
    account_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(200))
    # What caused it (e.g. "notice:<id>", "event:<event id>"): one entry per account and cause.
    source_key: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How many causes one entry stands for (pending bindings counted into one, staff_alerts.py).
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __table_args__ = (
        UniqueConstraint("account_id", "source_key"),
        Index("ix_inbox_entries_account_created", "account_id", "created_at", "id"),
    )


class PushConsent(Base):
    """One-time subscribe-message consents an account granted, per template (account-level,
    not per community: WeChat counts them per user and template)."""

    __tablename__ = "push_consents"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    remaining: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PushRecipient(Base):
    """The WeChat openid of an account, from identity's `identity.binding.verified` events
    (identity owns openids; this copy exists only to address pushes)."""

    __tablename__ = "push_recipients"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PushMessage(Base):
    """A subscribe message to send, held until `next_attempt_at` (quiet hours, backoff).

    status: pending → sent | refused (WeChat said no: errcode recorded, never retried)
    | failed (retries exhausted) | cancelled (its notice was withdrawn before it went)."""

    __tablename__ = "push_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(String(36))
    account_id: Mapped[str] = mapped_column(String(36))
    openid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(64))
    page: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_key: Mapped[str] = mapped_column(String(120))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    errcode: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_push_messages_due", "status", "next_attempt_at"),
        Index("ix_push_messages_source_key", "source_key"),
    )


class CareHousehold(Base):
    """A household on the care list (关注特殊人群): why (elderly, living alone, disability), a
    note, and whom to call. The contact's phone is shown whole only through a recorded reveal
    (care.py); the flag goes when the room has no verified member left."""

    __tablename__ = "care_households"

    room_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    categories: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(50))
    contact_phone: Mapped[str] = mapped_column(String(20))
    flagged_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_care_households_community", "community_id", "room_id"),)


class CareReveal(Base):
    """A staff member saw a care household's contact phone in full: who, when, why."""

    __tablename__ = "care_reveals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(String(36))
    room_id: Mapped[str] = mapped_column(String(36))
    room_label: Mapped[str] = mapped_column(String(120))
    revealed_by: Mapped[str] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(200))
    revealed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_care_reveals_community_at", "community_id", "revealed_at", "id"),
    )


class Activity(Base):
    """The sign-up of an activity notice (社区活动): capacity in people, a deadline, a limit
    per household, the check-in code, and whether its reminder went (activities.py)."""

    __tablename__ = "activities"

    notice_id: Mapped[str] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[str] = mapped_column(String(36))
    location: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signup_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    per_household_limit: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(36))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_activities_community_starts", "community_id", "starts_at"),
        Index("ix_activities_reminder_due", "reminder_sent_at", "starts_at"),
    )


class ActivitySignup(Base):
    """One account's sign-up for an activity, for one of its rooms.

    status: confirmed | waitlisted → confirmed (a place freed) | cancelled. `active_account_id`
    is the account while the sign-up stands and NULL once cancelled: the unique constraint
    keeps one standing sign-up per account, whatever the concurrency."""

    __tablename__ = "activity_signups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    activity_id: Mapped[str] = mapped_column(
        ForeignKey("activities.notice_id", ondelete="CASCADE")
    )
    community_id: Mapped[str] = mapped_column(String(36))
    account_id: Mapped[str] = mapped_column(String(36))
    active_account_id: Mapped[str | None] = mapped_column(String(36))
    room_id: Mapped[str] = mapped_column(String(36))
    room_label: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(120))
    people: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    # What the member shows at the door; staff check in by it or from the list.
    code: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_by: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        UniqueConstraint("activity_id", "active_account_id"),
        UniqueConstraint("activity_id", "code"),
        Index("ix_activity_signups_activity_status", "activity_id", "status", "created_at", "id"),
        Index("ix_activity_signups_account", "account_id", "status"),
    )
