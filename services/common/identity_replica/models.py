"""Replica tables, present in the database of each service that consumes identity's events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Index, Numeric, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, new_metadata


class ReplicaBase(DeclarativeBase):
    # A Table, not just a FromClause: Core inserts and updates take it (typed for mypy).
    __table__: ClassVar[Table]
    metadata = new_metadata()


class ReplicaCommunity(ReplicaBase):
    __tablename__ = "replica_communities"

    community_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReplicaRoom(ReplicaBase):
    __tablename__ = "replica_rooms"

    room_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    building_id: Mapped[str] = mapped_column(String(36))
    building_name: Mapped[str] = mapped_column(String(50))
    unit: Mapped[str | None] = mapped_column(String(50))
    room_no: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(120))
    area: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    state: Mapped[str] = mapped_column(String(20))
    owner_key: Mapped[str | None] = mapped_column(String(128))
    owners: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_replica_rooms_community_building", "community_id", "building_id"),
    )


class ReplicaBinding(ReplicaBase):
    """A binding of an account to a room; only verified and revoked ones reach the replica."""

    __tablename__ = "replica_bindings"

    binding_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    account_id: Mapped[str] = mapped_column(String(36))
    room_id: Mapped[str] = mapped_column(String(36))
    relation: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    parent_binding_id: Mapped[str | None] = mapped_column(String(36))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # When identity verified it (its `verified_at`); a household member sees the room's
    # tickets filed from then on. Null only on a revoked binding the replica never saw verified.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_replica_bindings_account", "account_id", "active"),
        Index("ix_replica_bindings_room", "room_id", "active"),
        Index("ix_replica_bindings_community", "community_id", "active"),
    )


class ReplicaStaff(ReplicaBase):
    __tablename__ = "replica_staff"

    community_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    staff_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
