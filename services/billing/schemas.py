"""Request and response models of the billing API. Money fields are integer 分 (`*_fen`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.billing.rules import MAX_BILLS_PER_ORDER, FeeKind, OfflineChannel

Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MAX_FEN = 1_000_000_000  # ¥10,000,000: far beyond any one bill


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeeItemIn(_In):
    code: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,40}$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    kind: FeeKind
    # per_area: 分 per m² per month; fixed: 分 per room per month.
    rate_fen: int = Field(ge=0, le=10_000_000)
    # Share charged to rooms not delivered yet (空置房), percent.
    vacant_percent: int = Field(default=100, ge=0, le=100)
    # The first month this version applies to (`2026-12`).
    effective_from: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}$")]
    active: bool = True


class FeeItemOut(BaseModel):
    id: str
    community_id: str
    code: str
    name: str
    kind: str
    rate_fen: int
    vacant_percent: int
    effective_from: str
    active: bool
    created_at: datetime


class GenerateIn(_In):
    period: Annotated[str, StringConstraints(min_length=4, max_length=7)]


class GenerateOut(BaseModel):
    period: str
    created: int
    skipped: int
    amount_fen: int


class LineOut(BaseModel):
    name: str
    basis: str
    amount_fen: int


class BillEventOut(BaseModel):
    action: str
    amount_fen: int
    reason: str
    actor_id: str | None
    payment_id: str | None
    created_at: datetime


class BillOut(BaseModel):
    id: str
    community_id: str
    room_id: str
    building_id: str
    room_label: str
    period: str
    amount_fen: int
    status: str
    paying: bool = False
    issued_at: datetime
    due_at: datetime
    paid_at: datetime | None
    payment_id: str | None
    lines: list[LineOut]


class BillDetail(BillOut):
    history: list[BillEventOut]


class RoomBills(BaseModel):
    room_id: str
    room_label: str
    community_id: str
    unpaid_fen: int
    bills: list[BillOut]


class MyBillsOut(BaseModel):
    unpaid_fen: int
    rooms: list[RoomBills]


class BillPage(BaseModel):
    items: list[BillOut]
    next_cursor: str | None


class AdjustIn(_In):
    # Added to the bill (negative lowers it); the bill never goes below 0.
    amount_fen: int = Field(ge=-MAX_FEN, le=MAX_FEN)
    reason: Reason


class ReasonIn(_In):
    reason: Reason


BillIds = Annotated[list[Id], Field(min_length=1, max_length=MAX_BILLS_PER_ORDER)]


class PaymentIn(_In):
    bill_ids: BillIds


class OfflinePaymentIn(_In):
    bill_ids: BillIds
    channel: OfflineChannel
    # The number on the paper receipt (收据号) or the bank transfer's reference.
    offline_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class PaymentOut(BaseModel):
    id: str
    community_id: str
    channel: str
    status: str
    amount_fen: int
    refunded_fen: int
    receipt_no: str | None
    offline_ref: str | None
    created_at: datetime
    paid_at: datetime | None
    bill_ids: list[str]
    # For a fresh JSAPI order: what `wx.requestPayment` takes.
    pay_params: dict[str, str] | None = None


class ReceiptLine(BaseModel):
    room_label: str
    period: str
    name: str
    basis: str
    amount_fen: int


class ReceiptOut(BaseModel):
    receipt_no: str
    payment_id: str
    community_id: str
    channel: str
    channel_name: str
    offline_ref: str | None
    transaction_id: str | None
    paid_at: datetime
    amount_fen: int
    amount_yuan: str
    refunded_fen: int
    rooms: list[str]
    lines: list[ReceiptLine]


class RefundOut(BaseModel):
    id: str
    payment_id: str
    bill_id: str | None
    amount_fen: int
    reason: str
    status: str
    created_at: datetime


class ArrearsBuilding(BaseModel):
    building_id: str
    building_name: str
    bills: int
    amount_fen: int
    by_age: dict[str, int]


class ArrearsItem(BaseModel):
    bill_id: str
    room_id: str
    room_label: str
    building_id: str
    period: str
    amount_fen: int
    due_at: datetime
    overdue_days: int
    last_reminded_at: datetime | None


class ArrearsOut(BaseModel):
    amount_fen: int
    buildings: list[ArrearsBuilding]
    items: list[ArrearsItem]
    next_cursor: str | None


class RateRow(BaseModel):
    billed_fen: int
    paid_fen: int
    # Percent with two decimals (`"87.50"`); null when nothing was billed.
    rate: str | None


class BuildingRate(RateRow):
    building_id: str
    building_name: str


class PeriodRate(RateRow):
    period: str
    buildings: list[BuildingRate]


class CollectionOut(BaseModel):
    periods: list[PeriodRate]


class RemindIn(_In):
    bill_ids: list[Id] | None = Field(default=None, max_length=1000)
    building_id: Id | None = None
    # Only bills at least this many days overdue.
    min_overdue_days: int = Field(default=0, ge=0, le=3650)


class RemindOut(BaseModel):
    reminded: int
    skipped_recent: int
    skipped_no_owner: int


class Difference(BaseModel):
    payment_id: str
    kind: str
    ours_status: str
    ours_amount_fen: int
    wechat_state: str | None
    wechat_amount_fen: int | None


class ReconciliationOut(BaseModel):
    date: str
    checked: int
    matched: int
    differences: list[Difference]


class NotificationOut(BaseModel):
    id: str
    notify_id: str | None
    out_trade_no: str | None
    outcome: str
    detail: str
    received_at: datetime
