"""Identity's tables: places (communities, buildings, rooms with their roster owners), accounts,
bindings of accounts to rooms, invitations, staff, refresh tokens and failed staff logins."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, new_id, new_metadata, utcnow
from services.identity.rules import BindingStatus, Department, Relation, Role, RoomState


class Base(DeclarativeBase):
    metadata = new_metadata()


class Community(Base):
    """A residential community (小区), the tenant every other row belongs to."""

    __tablename__ = "communities"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # The tenant key on every tenant table; for a community row it is its own id.
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The city (e.g. 杭州市), for owners searching their community by name or city.
    city: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CommunityScene(Base):
    """A QR code's `scene`: the code printed per community (or building) that the Mini
    Program resolves, without login, to the community it lands on."""

    __tablename__ = "community_scenes"

    scene: Mapped[str] = mapped_column(String(32), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"))
    # "" for the community's own code (so (community, building) is unique on every backend).
    building_id: Mapped[str] = mapped_column(String(36), default="")
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("community_id", "building_id"),)


class CommunityCard(Base):
    """The community's contact card (客服电话, office hours, emergency numbers, 群规), set by
    a manager."""

    __tablename__ = "community_cards"

    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    service_phone: Mapped[str | None] = mapped_column(String(30))
    office_hours: Mapped[str | None] = mapped_column(String(100))
    # [{"label": "物业值班", "phone": "0571-88886666"}]
    emergency_numbers: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    group_rules: Mapped[str | None] = mapped_column(String(5000))
    updated_by: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Building(Base):
    """A building (栋) of a community; `name` is the display form, e.g. "1栋"."""

    __tablename__ = "buildings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"))
    name: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("community_id", "name"),)


class Room(Base):
    """A room (房号) with its exclusive area, state and its owners as the roster lists them.

    `unit` is "" when the building has no units, so that the natural key is unique on every
    backend (NULLs never collide in a unique constraint). `owners` is the roster's list of
    `{name, phone, owner_key}`; `owner_key` is the room's tally key (the first owner's).
    """

    __tablename__ = "rooms"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"))
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id"))
    unit: Mapped[str] = mapped_column(String(50), default="")
    room_no: Mapped[str] = mapped_column(String(50))
    area: Mapped[Decimal] = mapped_column(Numeric(12, 2, asdecimal=True))
    state: Mapped[RoomState] = mapped_column(String(20))
    owner_key: Mapped[str | None] = mapped_column(String(200))
    owners: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("community_id", "building_id", "unit", "room_no"),)


class Account(Base):
    """A person who logs in: by WeChat (openid) and/or as staff (username + password)."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    openid: Mapped[str | None] = mapped_column(String(128), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Goes up whenever a staff role of the account ends or shrinks; access tokens carry it (`rv`)
    # and every verifier refuses an older one (services/common/role_changes.py).
    roles_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RoleChange(Base):
    """One bump of an account's roles version, served to every token verifier."""

    __tablename__ = "role_changes"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    account_id: Mapped[str] = mapped_column(String(36))
    roles_version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Binding(Base):
    """An account's claim on a room as owner, family member or tenant.

    Status: pending → verified | rejected; verified → revoked. Family and tenants invited by
    an owner hang off the owner's binding (`parent_binding_id`) and fall with it.
    """

    __tablename__ = "bindings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"))
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    relation: Mapped[Relation] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[BindingStatus] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(200))
    parent_binding_id: Mapped[str | None] = mapped_column(ForeignKey("bindings.id"))
    decided_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_bindings_community_status", "community_id", "status", "created_at"),
        Index("ix_bindings_account_id", "account_id"),
        Index("ix_bindings_room_id", "room_id"),
        Index("ix_bindings_parent_binding_id", "parent_binding_id"),
        # One live claim per account and room, even when the Mini Program submits twice.
        Index(
            "uq_bindings_live_account_room",
            "account_id",
            "room_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'verified')"),
            postgresql_where=text("status IN ('pending', 'verified')"),
        ),
    )


class Invitation(Base):
    """A single-use code by which a verified owner lets family or a tenant bind the room."""

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"))
    binding_id: Mapped[str] = mapped_column(ForeignKey("bindings.id"))
    relation: Mapped[Relation] = mapped_column(String(10))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Staff(Base):
    """An account's staff role in one community; `left_at` set when they left (access ends)."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    role: Mapped[Role] = mapped_column(String(10))
    department: Mapped[Department | None] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("community_id", "account_id"),)


class RefreshToken(Base):
    """One refresh token (its SHA-256 only). Tokens of one login form a family; using a token
    marks it used and issues the next; presenting a used token revokes the whole family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginFailure(Base):
    """A failed staff login, counted per username and client IP to limit guessing."""

    __tablename__ = "login_failures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_login_failures_key", "username", "ip", "created_at"),)
