"""WeChat Pay v3's own paths (JSAPI prepay, order query, close, refund) and the test-only
paths under /_standin/pay that play the payer and WeChat Pay's notify on demand."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.billing.devkeys import generate
from wechat_standin.pay_state import PayError, PayFault, PayKeysIn, PayState

router = APIRouter()
PAY_APIS = ("jsapi", "query", "close", "refund")


def _state(request: Request) -> PayState:
    state: PayState | None = getattr(request.app.state, "pay", None)
    if state is None:
        state = request.app.state.pay = request.app.state.pay_factory()
    return state


Pay = Annotated[PayState, Depends(_state)]


def _answer(state: PayState, status: int, payload: dict[str, Any] | None) -> Response:
    body = json.dumps(payload, ensure_ascii=False) if payload is not None else ""
    return Response(
        body.encode(),
        status_code=status,
        media_type="application/json" if payload is not None else None,
        headers={**state.signed_headers(body), "Request-ID": secrets.token_hex(16)},
    )


def _error(state: PayState, exc: PayError) -> Response:
    return _answer(state, exc.status, {"code": exc.code, "message": exc.message})


async def _call(request: Request, state: PayState, api: str) -> tuple[dict[str, Any], Response | None]:
    """Faults first, then the merchant's signature, then the JSON body."""
    fault = state.take_fault(api)
    if fault is not None:
        if fault.delay_seconds:
            await asyncio.sleep(fault.delay_seconds)
        if fault.http_status is not None:
            return {}, _error(state, PayError(fault.http_status, fault.code, "系统错误"))
    raw = (await request.body()).decode("utf-8", errors="replace")
    url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        state.check_authorization(request.method, url, raw, request.headers.get("authorization"))
    except PayError as exc:
        return {}, _error(state, exc)
    if not raw:
        return {}, None
    try:
        body = json.loads(raw)
    except ValueError:
        return {}, _error(state, PayError(400, "PARAM_ERROR", "请求体不是 JSON"))
    if not isinstance(body, dict):
        return {}, _error(state, PayError(400, "PARAM_ERROR", "请求体不是 JSON 对象"))
    return body, None


def _require(body: dict[str, Any], *paths: str) -> None:
    for path in paths:
        value: Any = body
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value in (None, ""):
            raise PayError(400, "PARAM_ERROR", f"缺少参数 {path}")


@router.post("/v3/pay/transactions/jsapi", include_in_schema=False)
async def jsapi(request: Request, state: Pay) -> Response:
    body, refused = await _call(request, state, "jsapi")
    if refused is not None:
        return refused
    try:
        _require(body, "appid", "mchid", "description", "out_trade_no", "notify_url", "amount.total", "payer.openid")
        if not isinstance(body["amount"]["total"], int) or body["amount"]["total"] <= 0:
            raise PayError(400, "PARAM_ERROR", "amount.total 必须为正整数（分）")
        return _answer(state, 200, {"prepay_id": state.prepay(body)})
    except PayError as exc:
        return _error(state, exc)


@router.get("/v3/pay/transactions/out-trade-no/{out_trade_no}", include_in_schema=False)
async def query(out_trade_no: str, request: Request, state: Pay) -> Response:
    _, refused = await _call(request, state, "query")
    if refused is not None:
        return refused
    try:
        return _answer(state, 200, state.order(out_trade_no).as_transaction())
    except PayError as exc:
        return _error(state, exc)


@router.post("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", include_in_schema=False)
async def close(out_trade_no: str, request: Request, state: Pay) -> Response:
    _, refused = await _call(request, state, "close")
    if refused is not None:
        return refused
    try:
        state.close(out_trade_no)
    except PayError as exc:
        return _error(state, exc)
    return _answer(state, 204, None)


@router.post("/v3/refund/domestic/refunds", include_in_schema=False)
async def refund(request: Request, state: Pay) -> Response:
    body, refused = await _call(request, state, "refund")
    if refused is not None:
        return refused
    try:
        _require(body, "out_trade_no", "out_refund_no", "amount.refund", "amount.total")
        return _answer(state, 200, state.refund(body))
    except PayError as exc:
        return _error(state, exc)


# --- test-only ------------------------------------------------------------------------------


class PayIn(BaseModel):
    outcome: Literal["success", "fail", "cancel"] = "success"
    # normal: notify with retries; none: no notify at all (the query path must find it);
    # twice: the same notification delivered twice.
    notify: Literal["normal", "none", "twice"] = "normal"


class PayFaultIn(BaseModel):
    api: Literal["jsapi", "query", "close", "refund"]
    http_status: int | None = Field(default=None, ge=400, le=599)
    code: str = Field(default="SYSTEM_ERROR", max_length=40)
    delay_seconds: float = Field(default=0, ge=0, le=60)
    times: int = Field(default=1, ge=1, le=1000)


class CraftedNotifyIn(BaseModel):
    out_trade_no: str = Field(min_length=1, max_length=32)
    # A different amount than the order's (a tampered notify), a timestamp moved into the
    # past (a replay), a signature by another key (a forgery), or a given notification id.
    total: int | None = None
    timestamp_offset_seconds: int = 0
    forged: bool = False
    notify_id: str | None = Field(default=None, max_length=64)


@router.post("/_standin/pay/orders/{prepay_id}/pay")
async def user_pays(prepay_id: str, body: PayIn, state: Pay) -> dict[str, Any]:
    """What the payer does in wx.requestPayment; a success is notified as asked."""
    try:
        order = state.pay(prepay_id, body.outcome)
    except PayError as exc:
        return {"error": exc.code}
    if order.trade_state == "SUCCESS" and body.notify != "none":
        state.send_notify(order, times=2 if body.notify == "twice" else 1)
    return order.as_transaction()


@router.get("/_standin/pay/orders/{out_trade_no}")
async def order_state(out_trade_no: str, state: Pay) -> dict[str, Any]:
    try:
        return state.order(out_trade_no).as_transaction()
    except PayError as exc:
        return {"error": exc.code}


@router.post("/_standin/pay/faults")
async def pay_fault(body: PayFaultIn, state: Pay) -> dict[str, Any]:
    """The next `times` calls to that API fail (http_status) or stall (delay_seconds)."""
    fault = PayFault(body.http_status, body.code, body.delay_seconds)
    return {"api": body.api, "pending": state.add_fault(body.api, fault, body.times)}


@router.get("/_standin/pay/notifications")
async def notifications(state: Pay, out_trade_no: str | None = None) -> list[dict[str, Any]]:
    """Every notify attempt (status_code null: the merchant could not be reached)."""
    return [n for n in state.notify_log if out_trade_no is None or n["out_trade_no"] == out_trade_no]


@router.post("/_standin/pay/notify")
async def crafted_notify(body: CraftedNotifyIn, state: Pay) -> dict[str, Any]:
    """Sends one notify for the order now, as asked, and answers what the merchant said."""
    try:
        order = state.order(body.out_trade_no)
    except PayError as exc:
        return {"error": exc.code}
    text = state.notify_body(order, total=body.total, notify_id=body.notify_id)
    headers = state.signed_headers(text, timestamp=int(state.clock()) + body.timestamp_offset_seconds)
    if body.forged:
        # The same serial and timestamp, signed by a key that is not the platform's.
        fresh = generate()
        impostor = PayState(
            PayKeysIn(state.keys.mchid, fresh.merchant_public_key, fresh.platform_private_key,
                      state.keys.platform_key_id, state.keys.apiv3_key)
        )
        headers = impostor.signed_headers(text)
    status = await state.post_notify(order.notify_url, text, headers, order.out_trade_no, 0)
    return {"status_code": status}


@router.post("/_standin/pay/reset", status_code=204)
async def pay_reset(state: Pay) -> None:
    state.reset()
