"""The WeChat Pay v3 side of the stand-in: the merchant's signature is required, answers are
signed by the platform key, and WeChat Pay's own errors come back (wechat_standin/pay_api.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.billing.devkeys import generate
from services.billing.wechatpay import (
    PayCredentials,
    WeChatPayClient,
    WeChatPayError,
    WeChatPayRefused,
)
from wechat_standin.app import create_app
from wechat_standin.settings import StandinSettings

KEYS = generate()
MCHID = "1900000109"


@pytest.fixture
async def pay() -> tuple[WeChatPayClient, httpx.AsyncClient]:
    app = create_app(StandinSettings(
        pay_mchid=MCHID, pay_merchant_public_key=KEYS.merchant_public_key,
        pay_platform_private_key=KEYS.platform_private_key, pay_platform_key_id=KEYS.platform_key_id,
        pay_apiv3_key=KEYS.apiv3_key,
    ))
    creds = PayCredentials("wx-app", MCHID, KEYS.merchant_serial, KEYS.merchant_private_key,
                           KEYS.platform_public_key, KEYS.platform_key_id, KEYS.apiv3_key)
    client = WeChatPayClient(creds, base_url="http://wxpay", notify_url="http://nowhere/notify",
                             transport=httpx.ASGITransport(app=app))
    raw = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wxpay")
    yield client, raw
    await client.aclose()
    await raw.aclose()


async def _prepay(client: WeChatPayClient, no: str, total: int = 100) -> str:
    return await client.jsapi_prepay(out_trade_no=no, description="物业费", amount_fen=total, openid="o1",
                                     time_expire=datetime.now(UTC) + timedelta(minutes=15))


async def test_unsigned_calls_are_refused_with_sign_error(pay) -> None:
    _, raw = pay
    r = await raw.get(f"/v3/pay/transactions/out-trade-no/x?mchid={MCHID}")
    assert r.status_code == 401 and r.json()["code"] == "SIGN_ERROR"


async def test_an_order_is_created_queried_paid_and_refunded_with_signed_answers(pay) -> None:
    client, raw = pay
    prepay_id = await _prepay(client, "order1")
    assert await _prepay(client, "order1") == prepay_id  # the same order again
    assert (await client.query("order1"))["trade_state"] == "NOTPAY"
    paid = (await raw.post(f"/_standin/pay/orders/{prepay_id}/pay", json={"notify": "none"})).json()
    assert paid["trade_state"] == "SUCCESS" and paid["transaction_id"]
    refund = await client.refund(out_trade_no="order1", out_refund_no="r1", refund_fen=40, total_fen=100, reason="x")
    assert refund["status"] == "SUCCESS" and refund["amount"]["refund"] == 40
    with pytest.raises(WeChatPayRefused) as exc:
        await client.refund(out_trade_no="order1", out_refund_no="r2", refund_fen=61, total_fen=100, reason="x")
    assert exc.value.code == "NOT_ENOUGH"
    assert (await client.query("order1"))["trade_state"] == "REFUND"


async def test_wechat_pays_own_errors(pay) -> None:
    client, raw = pay
    await _prepay(client, "order2")
    with pytest.raises(WeChatPayRefused) as exc:
        await _prepay(client, "order2", total=999)
    assert exc.value.code == "INVALID_REQUEST"
    with pytest.raises(WeChatPayRefused) as exc:
        await client.query("unknown")
    assert (exc.value.status, exc.value.code) == (404, "ORDER_NOT_EXIST")
    await client.close("order2")
    with pytest.raises(WeChatPayRefused) as exc:
        await _prepay(client, "order2")
    assert exc.value.code == "ORDER_CLOSED"
    assert (await raw.post("/_standin/pay/faults", json={"api": "query", "http_status": 503})).status_code == 200
    with pytest.raises(WeChatPayError):
        await client.query("order2")


async def test_a_forged_answer_does_not_verify(pay) -> None:
    client, _ = pay
    assert not client.verify({"Wechatpay-Timestamp": "1", "Wechatpay-Nonce": "n", "Wechatpay-Signature": "c2ln",
                              "Wechatpay-Serial": KEYS.platform_key_id}, "{}")
