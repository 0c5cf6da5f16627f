"""The billing service's tables. Money columns are integer 分 (`*_fen`); no float anywhere."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class FeeItem(Base):
    """One version of a fee item of a community: the version in force for a period is the one
    with the latest `effective_from` not after the period's first month (rules.version_for)."""

    __tablename__ = "fee_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(40))
    # per_area: rate_fen per m² of exclusive area per month; fixed: rate_fen per room per month.
    kind: Mapped[str] = mapped_column(String(20))
    rate_fen: Mapped[int] = mapped_column(Integer)
    # Share (percent) charged to rooms not yet delivered (unsold or sold): 空置房 discount.
    vacant_percent: Mapped[int] = mapped_column(Integer, default=100)
    # First month (month index, rules.month_index) this version applies to.
    effective_from: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("community_id", "code", "effective_from"),
        Index("ix_fee_items_community", "community_id", "code"),
    )


class Bill(Base):
    """What a room owes for one period. `(room_id, period)` is unique: generating twice adds
    nothing. `pending_payment_id` is the JSAPI order holding it (until `pending_until`)."""

    __tablename__ = "bills"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    room_id: Mapped[str] = mapped_column(String(36))
    building_id: Mapped[str] = mapped_column(String(36))
    room_label: Mapped[str] = mapped_column(String(120))
    period: Mapped[str] = mapped_column(String(10))
    first_month: Mapped[int] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # unpaid | paid | waived
    status: Mapped[str] = mapped_column(String(12), default="unpaid")
    payment_id: Mapped[str | None] = mapped_column(String(36))
    pending_payment_id: Mapped[str | None] = mapped_column(String(36))
    pending_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("room_id", "period"),
        # Covering the collection-rate aggregation (an index-only scan on 240,000 bills).
        Index("ix_bills_community_period", "community_id", "period", "building_id", "status", "amount_fen"),
        Index("ix_bills_community_status", "community_id", "status", "due_at"),
        # Covering the overlap check when a period is generated.
        Index("ix_bills_community_first_month", "community_id", "first_month", "months", "room_id"),
    )


class BillLine(Base):
    __tablename__ = "bill_lines"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bill_id: Mapped[str] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"))
    community_id: Mapped[str] = mapped_column(String(36))
    fee_item_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(60))
    # How the amount came about, for the receipt: "89.50㎡ × 2.35元 × 1月 × 70%".
    basis: Mapped[str] = mapped_column(String(120))
    amount_fen: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_bill_lines_bill", "bill_id"),)


class BillEvent(Base):
    """A bill's history: issued, adjusted, waived, paid, refunded (who, when, why, how much)."""

    __tablename__ = "bill_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bill_id: Mapped[str] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"))
    community_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[str | None] = mapped_column(String(36))
    payment_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_bill_events_bill", "bill_id", "created_at"),)


class Payment(Base):
    """A WeChat Pay JSAPI order (its id is the out_trade_no) or an offline payment."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    # wechat | cash | transfer
    channel: Mapped[str] = mapped_column(String(12))
    # created | succeeded | closed | refunded (automatically, when its bills were paid already)
    status: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    payer_account_id: Mapped[str | None] = mapped_column(String(36))
    payer_openid: Mapped[str | None] = mapped_column(String(128))
    recorded_by: Mapped[str | None] = mapped_column(String(36))
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(32))
    # Offline: the paper receipt's number the desk wrote; both: our electronic receipt number.
    offline_ref: Mapped[str | None] = mapped_column(String(40))
    receipt_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_payments_community_created", "community_id", "created_at"),
        Index("ix_payments_status_created", "status", "created_at"),
    )


class PaymentBill(Base):
    __tablename__ = "payment_bills"

    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), primary_key=True)
    bill_id: Mapped[str] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # out_refund_no
    community_id: Mapped[str] = mapped_column(String(36))
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"))
    bill_id: Mapped[str | None] = mapped_column(String(36))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    # SUCCESS | PROCESSING (WeChat Pay's), or SUCCESS at once for offline payments
    status: Mapped[str] = mapped_column(String(12))
    wechat_refund_id: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_refunds_payment", "payment_id"),)


class PayNotification(Base):
    """Every notify call WeChat Pay (or anyone) made, with what we did about it."""

    __tablename__ = "pay_notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # WeChat Pay's notification id (the envelope's `id`), when the body had one.
    notify_id: Mapped[str | None] = mapped_column(String(64))
    out_trade_no: Mapped[str | None] = mapped_column(String(32))
    # accepted | duplicate | bad_signature | stale | undecryptable | unknown_order |
    # amount_mismatch | not_success
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_pay_notifications_notify_id", "notify_id"),
        Index("ix_pay_notifications_received", "received_at"),
    )
