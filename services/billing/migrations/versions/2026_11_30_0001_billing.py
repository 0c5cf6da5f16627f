"""billing: fee items, bills and their lines and history, payments, refunds, notifications

Revision ID: bi0001
Revises:
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "bi0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fee_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("rate_fen", sa.Integer(), nullable=False),
        sa.Column("vacant_percent", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fee_items"),
        sa.UniqueConstraint(
            "community_id", "code", "effective_from", name="uq_fee_items_community_id_code_effective_from"
        ),
    )
    op.create_index("ix_fee_items_community", "fee_items", ["community_id", "code"])
    op.create_table(
        "bills",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("building_id", sa.String(36), nullable=False),
        sa.Column("room_label", sa.String(120), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("first_month", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("payment_id", sa.String(36), nullable=True),
        sa.Column("pending_payment_id", sa.String(36), nullable=True),
        sa.Column("pending_until", UTCDateTime(), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.Column("last_reminded_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bills"),
        sa.UniqueConstraint("room_id", "period", name="uq_bills_room_id_period"),
    )
    op.create_index(
        "ix_bills_community_period", "bills", ["community_id", "period", "building_id", "status", "amount_fen"]
    )
    op.create_index("ix_bills_community_status", "bills", ["community_id", "status", "due_at"])
    op.create_index(
        "ix_bills_community_first_month", "bills", ["community_id", "first_month", "months", "room_id"]
    )
    op.create_table(
        "bill_lines",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("bill_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("fee_item_id", sa.String(36), nullable=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("basis", sa.String(120), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["bill_id"], ["bills.id"], name="fk_bill_lines_bill_id_bills", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_bill_lines"),
    )
    op.create_index("ix_bill_lines_bill", "bill_lines", ["bill_id"])
    op.create_table(
        "bill_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("bill_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("actor_id", sa.String(36), nullable=True),
        sa.Column("payment_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["bill_id"], ["bills.id"], name="fk_bill_events_bill_id_bills", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_bill_events"),
    )
    op.create_index("ix_bill_events_bill", "bill_events", ["bill_id", "created_at"])
    op.create_table(
        "payments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("payer_account_id", sa.String(36), nullable=True),
        sa.Column("payer_openid", sa.String(128), nullable=True),
        sa.Column("recorded_by", sa.String(36), nullable=True),
        sa.Column("prepay_id", sa.String(64), nullable=True),
        sa.Column("transaction_id", sa.String(32), nullable=True),
        sa.Column("offline_ref", sa.String(40), nullable=True),
        sa.Column("receipt_no", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.UniqueConstraint("receipt_no", name="uq_payments_receipt_no"),
    )
    op.create_index("ix_payments_community_created", "payments", ["community_id", "created_at"])
    op.create_index("ix_payments_status_created", "payments", ["status", "created_at"])
    op.create_table(
        "payment_bills",
        sa.Column("payment_id", sa.String(32), nullable=False),
        sa.Column("bill_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name="fk_payment_bills_payment_id_payments", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["bill_id"], ["bills.id"], name="fk_payment_bills_bill_id_bills", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("payment_id", "bill_id", name="pk_payment_bills"),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("payment_id", sa.String(32), nullable=False),
        sa.Column("bill_id", sa.String(36), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("wechat_refund_id", sa.String(32), nullable=True),
        sa.Column("actor_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name="fk_refunds_payment_id_payments"),
        sa.PrimaryKeyConstraint("id", name="pk_refunds"),
    )
    op.create_index("ix_refunds_payment", "refunds", ["payment_id"])
    op.create_table(
        "pay_notifications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("notify_id", sa.String(64), nullable=True),
        sa.Column("out_trade_no", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pay_notifications"),
    )
    op.create_index("ix_pay_notifications_notify_id", "pay_notifications", ["notify_id"])
    op.create_index("ix_pay_notifications_received", "pay_notifications", ["received_at"])


def downgrade() -> None:
    """Drops every billing table (and its data)."""
    for name in (
        "pay_notifications",
        "refunds",
        "payment_bills",
        "payments",
        "bill_events",
        "bill_lines",
        "bills",
        "fee_items",
    ):
        op.drop_table(name)
