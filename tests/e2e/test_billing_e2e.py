"""Fees end to end over real loopback processes, through the gateway: a manager sets fee items
and generates a month from the rooms identity's events brought to billing; an owner sees the
bill, pays it through the WeChat Pay stand-in (prepay, the payer's confirmation, the signed
notify that reaches billing through the gateway's notify path), gets the receipt and an inbox
entry from notices; the manager sees the collection rate move, reminds the rest, records a
cash payment and refunds one; the reconciliation with WeChat Pay finds no difference."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from scripts.stack import Stack
from services.billing import rules
from tests.e2e.seed import bearer, eventually

STACK_ENV = {"GATEWAY_RATE_ACCOUNT_PER_SECOND": "50", "GATEWAY_RATE_ACCOUNT_BURST": "200",
             "GATEWAY_RATE_IP_PER_SECOND": "50", "GATEWAY_RATE_IP_BURST": "200",
             "WECHAT_STANDIN_PAY_NOTIFY_RETRY_SECONDS": "[0.2, 0.5, 1, 2]"}

ROSTER = (
    "楼栋,单元,房号,面积,状态,业主姓名,手机号\n"
    "1栋,,101,89.50,已交付,李明,13812341234\n"
    "1栋,,102,100.00,已交付,王芳,13900001111\n"
    "2栋,,201,120.25,已售,赵强,13700002222\n"
)


def _ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return dict(r.json())


def _owner(stack: Stack, gateway: httpx.Client, cid: str, room_no: str, name: str, phone: str) -> dict[str, str]:
    with httpx.Client(base_url=stack.url("wechat"), trust_env=False) as wechat:
        code = wechat.post("/_standin/login-codes", json={"openid": f"o-{uuid.uuid4().hex[:10]}"}).json()["code"]
        phone_code = wechat.post("/_standin/phone-codes", json={"phone": phone}).json()["code"]
    login = _ok(gateway.post("/api/v1/auth/wechat-login", json={"code": code}))
    h = bearer(login["access_token"])
    _ok(gateway.post("/api/v1/me/phone", json={"code": phone_code}, headers=h))
    tree = _ok(gateway.get(f"/api/v1/communities/{cid}/buildings", headers=h))
    room = next(r["id"] for b in tree["buildings"] for u in b["units"] for r in u["rooms"] if r["room_no"] == room_no)
    bound = _ok(gateway.post("/api/v1/me/bindings", json={"room_id": room, "relation": "owner", "name": name, "phone": phone},
                             headers=h), 201)
    assert bound["status"] == "verified"
    return h


def _rate(gateway: httpx.Client, cid: str, manager: dict[str, str]) -> dict:
    data = _ok(gateway.get(f"/api/v1/communities/{cid}/fees/collection-rate", params={"period": "2026-12"}, headers=manager))
    return dict(data["periods"][0])


def test_fees_from_fee_items_to_reconciliation_through_the_gateway(stack: Stack, gateway: httpx.Client) -> None:
    admin = bearer(stack.issue_token(f"admin-{uuid.uuid4().hex[:8]}", platform_admin=True))
    cid = _ok(gateway.post("/api/v1/communities", json={"name": "缴费花园"}, headers=admin), 201)["id"]
    _ok(gateway.post(f"/api/v1/communities/{cid}/roster",
                     files={"file": ("roster.csv", ROSTER.encode("gbk"), "text/csv")}, headers=admin))
    manager = bearer(stack.issue_token(f"mgr-{uuid.uuid4().hex[:8]}", staff={cid: {"role": "manager", "department": None}}))
    li = _owner(stack, gateway, cid, "101", "李明", "13812341234")
    wang = _owner(stack, gateway, cid, "102", "王芳", "13900001111")

    # Fee items and one month's bills, from the rooms billing learned by webhook.
    _ok(gateway.post(f"/api/v1/communities/{cid}/fees/items", json={
        "code": "wuye", "name": "物业费", "kind": "per_area", "rate_fen": 235, "vacant_percent": 70,
        "effective_from": "2026-01"}, headers=manager), 201)
    _ok(gateway.post(f"/api/v1/communities/{cid}/fees/items", json={
        "code": "laji", "name": "垃圾清运费", "kind": "fixed", "rate_fen": 1000, "effective_from": "2026-01"},
        headers=manager), 201)
    generated = eventually(
        lambda: (r := gateway.post(f"/api/v1/communities/{cid}/fees/bills/generate", json={"period": "2026-12"},
                                   headers=manager)).json().get("created") == 3 and r.json(),
        "billing to learn the three rooms")
    # 101: 210.33 + 10.00; 102: 235.00 + 10.00; 201 (sold, not delivered): 70% of 282.59 + 10.00
    assert generated["amount_fen"] == 22033 + 24500 + (19781 + 1000)

    # The owner sees the bill (once billing heard of the binding) and pays it with WeChat Pay.
    mine = eventually(lambda: gateway.get("/api/v1/me/bills", headers=li).json()["unpaid_fen"], "billing to learn 李明's binding")
    assert mine == 22033
    bill_ids = [b["id"] for r in gateway.get("/api/v1/me/bills", headers=li).json()["rooms"] for b in r["bills"]]
    payment = _ok(gateway.post("/api/v1/payments", json={"bill_ids": bill_ids}, headers=li), 201)
    params = payment["pay_params"]
    assert params["package"].startswith("prepay_id=") and params["signType"] == "RSA" and params["paySign"]
    with httpx.Client(base_url=stack.url("wechat"), trust_env=False) as wechat:
        prepay_id = params["package"].removeprefix("prepay_id=")
        _ok(wechat.post(f"/_standin/pay/orders/{prepay_id}/pay", json={"outcome": "success"}))
        # WeChat Pay's notify reached billing through the gateway's notify path (no token).
        eventually(lambda: any(n["status_code"] == 204 for n in wechat.get(
            "/_standin/pay/notifications", params={"out_trade_no": payment["id"]}).json()), "the notify to be accepted")
    paid = _ok(gateway.get(f"/api/v1/payments/{payment['id']}", headers=li))
    assert paid["status"] == "succeeded" and paid["receipt_no"]
    receipt = _ok(gateway.get(f"/api/v1/payments/{payment['id']}/receipt", headers=li))
    assert receipt["amount_fen"] == 22033 and receipt["rooms"] == ["1栋101"] and len(receipt["lines"]) == 2
    page = gateway.get(f"/api/v1/payments/{payment['id']}/receipt.html", headers=li)
    assert page.status_code == 200 and receipt["receipt_no"] in page.text
    entry = eventually(lambda: [e for e in gateway.get("/api/v1/inbox", headers=li).json()["items"]
                                if e["kind"] == "payment_succeeded"], "the payment in 李明's inbox")[0]
    assert receipt["receipt_no"] in entry["text"]
    # A stranger cannot read it, and a forged notify straight at the gateway is refused.
    assert gateway.get(f"/api/v1/payments/{payment['id']}", headers=wang).status_code == 404
    forged = gateway.post("/api/v1/payments/wechat/notify", content=b'{"id":"x","resource":{}}',
                          headers={"Wechatpay-Timestamp": "1", "Wechatpay-Nonce": "n", "Wechatpay-Signature": "c2ln",
                                   "Wechatpay-Serial": "x", "content-type": "application/json"})
    assert forged.status_code == 401

    # The manager sees the collection rate move, reminds the rest, takes cash, refunds one.
    rate = _rate(gateway, cid, manager)
    assert (rate["billed_fen"], rate["paid_fen"]) == (67314, 22033)
    reminders = _ok(gateway.post(f"/api/v1/communities/{cid}/fees/reminders", json={}, headers=manager))
    # The December bills fall due on 2026-12-31 (Shanghai): before that nothing is overdue.
    today = datetime.now(UTC)
    overdue = today >= rules.due_at(rules.parse_period("2026-12"))  # type: ignore[arg-type]
    assert reminders["reminded"] == (2 if overdue else 0)
    wang_bill = gateway.get("/api/v1/me/bills", headers=wang).json()["rooms"][0]["bills"][0]["id"]
    cash = _ok(gateway.post(f"/api/v1/communities/{cid}/fees/offline-payments", json={
        "bill_ids": [wang_bill], "channel": "cash", "offline_ref": "NO.0001"}, headers=manager), 201)
    assert _rate(gateway, cid, manager)["paid_fen"] == 22033 + 24500
    refund = _ok(gateway.post(f"/api/v1/bills/{bill_ids[0]}/refund", json={"reason": "面积登记有误，全额退回"}, headers=manager))
    assert refund["amount_fen"] == 22033 and refund["status"] == "SUCCESS"
    assert _rate(gateway, cid, manager)["paid_fen"] == 24500
    eventually(lambda: [e for e in gateway.get("/api/v1/inbox", headers=li).json()["items"]
                        if e["kind"] == "payment_refunded"], "the refund in 李明's inbox")
    assert cash["receipt_no"]

    # The day's reconciliation with WeChat Pay: no difference.
    day = today.astimezone(rules.SHANGHAI).strftime("%Y-%m-%d")
    rec = _ok(gateway.get(f"/api/v1/communities/{cid}/fees/reconciliation", params={"date": day}, headers=manager))
    assert rec["checked"] == 1 and rec["differences"] == []
