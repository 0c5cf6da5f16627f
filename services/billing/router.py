"""HTTP routes of the billing service (behind the gateway under /api/v1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse

from services.billing import (
    arrears,
    bills,
    collection,
    errors,
    export,
    fees,
    notify,
    offline,
    payments,
    receipts,
    refunds,
    reminders,
    rules,
    statements,
)
from services.billing import reconciliation as reconciliation_
from services.billing.deps import ManagedBill, VisibleBill, VisiblePayment, WeChatPay
from services.billing.models import Bill
from services.billing.schemas import (
    AdjustIn,
    ArrearsOut,
    BillDetail,
    BillPage,
    CollectionOut,
    FeeItemIn,
    FeeItemOut,
    GenerateIn,
    GenerateOut,
    MyBillsOut,
    OfflinePaymentIn,
    PaymentIn,
    PaymentOut,
    ReasonIn,
    ReceiptOut,
    ReconciliationOut,
    RefundOut,
    RemindIn,
    RemindOut,
)
from services.common.auth import CurrentPrincipal, ManagedCommunity
from services.common.clock import Now
from services.common.csv_export import csv_response
from services.common.db import SessionDep, writes_on_read
from services.common.pagination import DEFAULT_LIMIT, CursorParam, Keyset, LimitParam, keyset_page

router = APIRouter(tags=["billing"])
FEES = "/communities/{community_id}/fees"
IdQuery = Annotated[str | None, Query(min_length=1, max_length=36)]
Day = Annotated[str, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="Asia/Shanghai 日期 YYYY-MM-DD")]
BILL_ORDER = Keyset((Bill.room_label, Bill.id), ("str", "str"), descending=False)


def _day_bounds(day: str) -> tuple[Any, Any]:
    bounds = rules.shanghai_day_bounds(day)
    if bounds is None:
        raise errors.InvalidDate()
    return bounds


@dataclass(frozen=True)
class DaySpan:
    """`?from=&to=` (Asia/Shanghai days, both included) and the instants they span."""

    first: str
    last: str
    start: datetime
    end: datetime


async def _day_span(
    from_: Annotated[str, Query(alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$")],
    to: Annotated[str, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")],
) -> DaySpan:
    start, _ = _day_bounds(from_)
    _, end = _day_bounds(to)
    return DaySpan(from_, to, start, end)


DaySpanQuery = Annotated[DaySpan, Depends(_day_span)]


# --- owners -----------------------------------------------------------------------------


@router.get("/me/bills", response_model=MyBillsOut)
async def my_bills(
    session: SessionDep, principal: CurrentPrincipal, now: Now, community_id: IdQuery = None
) -> MyBillsOut:
    return await statements.my_bills(session, principal.account_id, community_id, now)


@router.get("/bills/{bill_id}", response_model=BillDetail)
async def get_bill(bill: VisibleBill, session: SessionDep, now: Now) -> BillDetail:
    return await bills.detail(session, bill, now)


@router.post("/payments", response_model=PaymentOut, status_code=status.HTTP_201_CREATED)
async def create_payment(
    body: PaymentIn, request: Request, session: SessionDep, principal: CurrentPrincipal, now: Now, wx: WeChatPay
) -> PaymentOut:
    ttl = timedelta(seconds=request.app.state.settings.order_ttl_seconds)
    payment, params = await payments.create_order(session, wx, principal, body.bill_ids, now, ttl)
    return await payments.payment_out(session, payment, params)


@router.get("/payments/{payment_id}", response_model=PaymentOut)
@writes_on_read
async def get_payment(payment: VisiblePayment, session: SessionDep, now: Now, wx: WeChatPay) -> PaymentOut:
    """Asks WeChat Pay when the order is still waiting (the query path of the result)."""
    await payments.refresh(session, wx, payment, now)
    return await payments.payment_out(session, payment)


@router.get("/payments/{payment_id}/receipt", response_model=ReceiptOut)
async def get_receipt(payment: VisiblePayment, session: SessionDep) -> ReceiptOut:
    return await receipts.receipt(session, payment)


@router.get("/payments/{payment_id}/receipt.html", response_class=HTMLResponse)
async def get_receipt_page(payment: VisiblePayment, session: SessionDep) -> HTMLResponse:
    return HTMLResponse(receipts.receipt_html(await receipts.receipt(session, payment)))


@router.post("/payments/wechat/notify", include_in_schema=False)
async def wechat_notify(request: Request, session: SessionDep, now: Now, wx: WeChatPay) -> Response:
    """WeChat Pay's call-back: no token, its signature is the check (notify.py)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    max_age = request.app.state.settings.notify_max_age_seconds
    verdict, notify_id = await notify.handle(session, wx, dict(request.headers), body, now, max_age)
    notify.record(session, verdict, notify_id, now)
    if verdict.accepted:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return JSONResponse({"code": "FAIL", "message": verdict.detail}, status_code=verdict.status_code)


# --- managers -----------------------------------------------------------------------------


@router.post(FEES + "/items", response_model=FeeItemOut, status_code=status.HTTP_201_CREATED)
async def create_fee_item(
    body: FeeItemIn, community_id: ManagedCommunity, session: SessionDep, principal: CurrentPrincipal, now: Now
) -> FeeItemOut:
    item = await fees.create_fee_item(session, community_id, body, principal.account_id, now)
    return fees.fee_item_out(item)


@router.get(FEES + "/items", response_model=list[FeeItemOut])
async def list_fee_items(community_id: ManagedCommunity, session: SessionDep) -> list[FeeItemOut]:
    return [fees.fee_item_out(i) for i in await fees.fee_items(session, community_id)]


@router.post(FEES + "/bills/generate", response_model=GenerateOut)
async def generate_bills(body: GenerateIn, community_id: ManagedCommunity, session: SessionDep, now: Now) -> GenerateOut:
    return await bills.generate(session, community_id, body.period, now)


@router.get(FEES + "/bills", response_model=BillPage)
async def list_bills(
    community_id: ManagedCommunity,
    session: SessionDep,
    now: Now,
    period: Annotated[str | None, Query(max_length=7)] = None,
    bill_status: Annotated[Literal["unpaid", "paid", "waived"] | None, Query(alias="status")] = None,
    building_id: IdQuery = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> BillPage:
    stmt = bills.community_bills(community_id, period, bill_status, building_id)
    rows, next_cursor = await keyset_page(session, stmt, BILL_ORDER, limit, cursor)
    return BillPage(items=await bills.bills_out(session, rows, now), next_cursor=next_cursor)


@router.post("/bills/{bill_id}/adjustments", response_model=BillDetail)
async def adjust_bill(
    body: AdjustIn, bill: ManagedBill, session: SessionDep, principal: CurrentPrincipal, now: Now
) -> BillDetail:
    await bills.adjust(session, bill, body.amount_fen, body.reason, principal.account_id, now)
    return await bills.detail(session, bill, now)


@router.post("/bills/{bill_id}/waive", response_model=BillDetail)
async def waive_bill(
    body: ReasonIn, bill: ManagedBill, session: SessionDep, principal: CurrentPrincipal, now: Now
) -> BillDetail:
    await bills.waive(session, bill, body.reason, principal.account_id, now)
    return await bills.detail(session, bill, now)


@router.post("/bills/{bill_id}/refund", response_model=RefundOut)
async def refund_bill(
    body: ReasonIn, bill: ManagedBill, session: SessionDep, principal: CurrentPrincipal, now: Now, wx: WeChatPay
) -> RefundOut:
    refund = await refunds.refund_bill(session, wx, bill, body.reason, principal.account_id, now)
    return RefundOut(
        id=refund.id,
        payment_id=refund.payment_id,
        bill_id=refund.bill_id,
        amount_fen=refund.amount_fen,
        reason=refund.reason,
        status=refund.status,
        created_at=refund.created_at,
    )


@router.post(FEES + "/offline-payments", response_model=PaymentOut, status_code=status.HTTP_201_CREATED)
async def record_offline_payment(
    body: OfflinePaymentIn, community_id: ManagedCommunity, session: SessionDep, principal: CurrentPrincipal, now: Now
) -> PaymentOut:
    payment = await offline.record_offline(
        session, community_id, body.bill_ids, body.channel, body.offline_ref, principal.account_id, now
    )
    return await payments.payment_out(session, payment)


@router.get(FEES + "/arrears", response_model=ArrearsOut)
async def list_arrears(
    community_id: ManagedCommunity,
    session: SessionDep,
    now: Now,
    building_id: IdQuery = None,
    min_overdue_days: Annotated[int, Query(ge=0, le=3650)] = 0,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> ArrearsOut:
    return await arrears.arrears(
        session, community_id, now, building_id=building_id, min_overdue_days=min_overdue_days, limit=limit, cursor=cursor
    )


@router.get(FEES + "/collection-rate", response_model=CollectionOut)
async def get_collection_rate(
    community_id: ManagedCommunity,
    session: SessionDep,
    period: Annotated[list[str] | None, Query(max_length=60)] = None,
) -> CollectionOut:
    periods = list(period or [])
    if any(rules.parse_period(p) is None for p in periods):
        raise errors.InvalidPeriod()
    return await collection.collection_rate(session, community_id, periods)


@router.post(FEES + "/reminders", response_model=RemindOut)
async def send_reminders(
    body: RemindIn, request: Request, community_id: ManagedCommunity, session: SessionDep, principal: CurrentPrincipal, now: Now
) -> RemindOut:
    spacing = request.app.state.settings.reminder_spacing_days
    return await reminders.remind(session, community_id, body, principal.account_id, now, spacing)


@router.get(FEES + "/exports/bills.csv", response_class=Response)
async def export_bills(
    community_id: ManagedCommunity, session: SessionDep, period: Annotated[str, Query(min_length=4, max_length=7)]
) -> Response:
    parsed = rules.parse_period(period)
    if parsed is None:
        raise errors.InvalidPeriod()
    rows = await export.bill_rows(session, community_id, parsed.label)
    return csv_response(f"bills-{parsed.label}.csv", export.BILLS_HEADER, rows)


@router.get(FEES + "/exports/payments.csv", response_class=Response)
async def export_payments(community_id: ManagedCommunity, session: SessionDep, span: DaySpanQuery) -> Response:
    rows = await export.payment_rows(session, community_id, span.start, span.end)
    return csv_response(f"payments-{span.first}-{span.last}.csv", export.PAYMENTS_HEADER, rows)


@router.get(FEES + "/exports/refunds.csv", response_class=Response)
async def export_refunds(community_id: ManagedCommunity, session: SessionDep, span: DaySpanQuery) -> Response:
    rows = await export.refund_rows(session, community_id, span.start, span.end)
    return csv_response(f"refunds-{span.first}-{span.last}.csv", export.REFUND_HEADER, rows)


@router.get(FEES + "/reconciliation", response_model=ReconciliationOut)
async def reconciliation(community_id: ManagedCommunity, session: SessionDep, date: Day, wx: WeChatPay) -> ReconciliationOut:
    start, end = _day_bounds(date)
    return await reconciliation_.reconcile(session, wx, community_id, date, start, end)
