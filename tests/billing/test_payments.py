"""WeChat Pay orders: no double charge, notify and query applied once, refused notifies
recorded, a notify lost while billing was down recovered by retry and by query."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from services.billing import scheduler
from services.billing.models import Bill, Payment
from services.common.events.models import OutboxEvent
from tests.billing import factories as f
from tests.common.identity_replica import factories as ie
from tests.support import assert_error


async def _one_bill(w: f.PayWorld, area: str = "89.50") -> tuple[f.Owner, list[str]]:
    r = await f.room(w, area=area)
    owner = await f.owner_of(w, r["room_id"])
    await f.fee_item(w)
    await f.generate(w)
    return owner, await f.unpaid_bill_ids(w, owner)


async def _events(w: f.PayWorld, type_: str) -> list[OutboxEvent]:
    async with w.app.state.sessionmaker() as s:
        return list((await s.scalars(select(OutboxEvent).where(OutboxEvent.type == type_))).all())


async def _bill(w: f.PayWorld, bill_id: str) -> Bill:
    async with w.app.state.sessionmaker() as s:
        bill = await s.get(Bill, bill_id)
        assert bill is not None
        return bill


async def test_several_bills_in_one_order_are_paid_together(w: f.PayWorld) -> None:
    r = await f.room(w, area="100.00")
    owner = await f.owner_of(w, r["room_id"])
    await f.fee_item(w)
    await f.generate(w, "2026-11")
    await f.generate(w, "2026-12")
    ids = await f.unpaid_bill_ids(w, owner)
    p = await f.prepay(w, owner, ids)
    assert p["amount_fen"] == 2 * 23500 and sorted(p["bill_ids"]) == sorted(ids)
    order = (await w.wx.get(f"/_standin/pay/orders/{p['id']}")).json()
    assert order["amount"]["total"] == 47000 and order["payer"]["openid"] == owner.openid
    await f.user_pays(w, p)
    await f.settle_notifies(w, 1)
    assert (await f.my_bills(w, owner))["unpaid_fen"] == 0
    [event] = await _events(w, "billing.payment.succeeded")
    assert event.payload["account_ids"] == [owner.account_id] and event.payload["amount_fen"] == 47000


async def test_a_retried_prepay_returns_the_same_order(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    first = await f.prepay(w, owner, ids)
    second = await f.prepay(w, owner, ids)
    assert first["id"] == second["id"] and f.prepay_id(first) == f.prepay_id(second)


async def test_two_phones_paying_the_same_bill_at_once_one_gets_the_order_the_other_409(w: f.PayWorld) -> None:
    r = await f.room(w)
    a = await f.owner_of(w, r["room_id"])
    b = await f.owner_of(w, r["room_id"])
    await f.fee_item(w)
    await f.generate(w)
    [bill_id] = await f.unpaid_bill_ids(w, a)
    answers = await asyncio.gather(
        *(w.client.post("/payments", json={"bill_ids": [bill_id]}, headers=o.headers) for o in (a, b, a, b))
    )
    created = [x for x in answers if x.status_code == 201]
    refused = [x for x in answers if x.status_code != 201]
    # The caller who won may retry (same order back); the other phone is refused.
    assert len({x.json()["id"] for x in created}) == 1
    assert refused and all(x.status_code == 409 and x.json()["error"]["code"] == "bill_being_paid" for x in refused)
    assert await f.count(w, Payment) == 1


async def test_a_late_payment_for_a_bill_paid_meanwhile_is_refunded_in_full(w: f.PayWorld) -> None:
    r = await f.room(w)
    a = await f.owner_of(w, r["room_id"])
    b = await f.owner_of(w, r["room_id"])
    await f.fee_item(w)
    await f.generate(w)
    [bill_id] = await f.unpaid_bill_ids(w, a)
    first = await f.prepay(w, a, [bill_id])
    w.app.state.clock.set(w.app.state.clock.now() + timedelta(minutes=16))  # a's order expired
    second = await f.prepay(w, b, [bill_id])
    await f.user_pays(w, second)
    await f.settle_notifies(w, 1)
    # a's phone still had the old payment sheet open and paid it.
    await f.user_pays(w, first)
    await f.settle_notifies(w, 2)
    late = await f.payment(w, a, first["id"])
    assert late["status"] == "refunded" and late["refunded_fen"] == late["amount_fen"]
    assert (await w.wx.get(f"/_standin/pay/orders/{first['id']}")).json()["trade_state"] == "REFUND"
    assert (await _bill(w, bill_id)).payment_id == second["id"]
    assert len(await _events(w, "billing.payment.refunded")) == 1


async def test_a_notify_delivered_twice_changes_nothing_the_second_time(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    p = await f.prepay(w, owner, ids)
    await f.user_pays(w, p, notify="twice")
    await f.settle_notifies(w, 2)
    assert await f.notification_outcomes(w) == ["accepted", "duplicate"]
    assert len(await _events(w, "billing.payment.succeeded")) == 1


async def test_a_notify_after_the_query_changes_nothing(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    p = await f.prepay(w, owner, ids)
    await f.user_pays(w, p, notify="none")
    got = await f.payment(w, owner, p["id"])  # the Mini Program asks after wx.requestPayment
    assert got["status"] == "succeeded"
    receipt_no = got["receipt_no"]
    r = await w.wx.post("/_standin/pay/notify", json={"out_trade_no": p["id"]})
    assert r.json()["status_code"] == 204
    assert await f.notification_outcomes(w) == ["duplicate"]
    assert (await f.payment(w, owner, p["id"]))["receipt_no"] == receipt_no
    assert len(await _events(w, "billing.payment.succeeded")) == 1


async def test_forged_replayed_and_wrong_amount_notifies_are_refused_recorded_and_pay_nothing(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    p = await f.prepay(w, owner, ids)
    await f.user_pays(w, p, notify="none")
    forged = await w.wx.post("/_standin/pay/notify", json={"out_trade_no": p["id"], "forged": True})
    replayed = await w.wx.post("/_standin/pay/notify", json={"out_trade_no": p["id"], "timestamp_offset_seconds": -3600})
    tampered = await w.wx.post("/_standin/pay/notify", json={"out_trade_no": p["id"], "total": 1})
    assert [x.json()["status_code"] for x in (forged, replayed, tampered)] == [401, 401, 400]
    assert await f.notification_outcomes(w) == ["bad_signature", "stale", "amount_mismatch"]
    async with w.app.state.sessionmaker() as s:
        payment = await s.get(Payment, p["id"])
        assert payment is not None and payment.status == "created"
    assert (await _bill(w, ids[0])).status == "unpaid"
    assert await _events(w, "billing.payment.succeeded") == []


async def test_a_notify_body_from_nowhere_is_refused(w: f.PayWorld) -> None:
    r = await w.client.post("/payments/wechat/notify", content=b'{"id":"x","resource":{}}')
    assert r.status_code == 401 and r.json()["code"] == "FAIL"
    assert await f.notification_outcomes(w) == ["bad_signature"]


async def test_billing_down_during_notify_is_recovered_by_wechat_pays_retries(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    p = await f.prepay(w, owner, ids)
    w.link.down_for = 2  # billing is down for WeChat Pay's first two tries, then back
    await f.user_pays(w, p)
    log = await f.settle_notifies(w, 3)
    assert [x["status_code"] for x in log] == [None, None, 204]
    assert (await _bill(w, ids[0])).status == "paid"


async def test_billing_down_for_every_retry_is_recovered_by_the_query_path(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    p = await f.prepay(w, owner, ids)
    w.link.down = True
    await f.user_pays(w, p)
    log = await f.settle_notifies(w, 5)  # the first try and all four retries
    assert all(x["status_code"] is None for x in log)
    w.link.down = False
    w.app.state.clock.set(w.app.state.clock.now() + timedelta(minutes=2))
    assert await scheduler.tick(w.app) == 1
    assert (await _bill(w, ids[0])).status == "paid"
    assert len(await _events(w, "billing.payment.succeeded")) == 1


async def test_a_cancelled_payment_expires_closes_at_wechat_pay_and_frees_the_bill(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    p = await f.prepay(w, owner, ids)
    await f.user_pays(w, p, outcome="cancel")
    assert (await f.payment(w, owner, p["id"]))["status"] == "created"
    w.app.state.clock.set(w.app.state.clock.now() + timedelta(minutes=16))
    await scheduler.tick(w.app)
    assert (await f.payment(w, owner, p["id"]))["status"] == "closed"
    assert (await w.wx.get(f"/_standin/pay/orders/{p['id']}")).json()["trade_state"] == "CLOSED"
    again = await f.prepay(w, owner, ids)
    assert again["id"] != p["id"]


async def test_wechat_pay_failing_at_prepay_answers_503_and_holds_nothing(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    await w.wx.post("/_standin/pay/faults", json={"api": "jsapi", "http_status": 500})
    r = await w.client.post("/payments", json={"bill_ids": ids}, headers=owner.headers)
    assert_error(r, 503, "wechatpay_unavailable")
    assert (await _bill(w, ids[0])).pending_payment_id is None
    assert (await f.prepay(w, owner, ids))["status"] == "created"


async def test_paying_needs_a_wechat_login_and_ones_own_unpaid_bills(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    stranger = await f.owner_of(w, (await f.room(w, room_no="202"))["room_id"])
    assert_error(await w.client.post("/payments", json={"bill_ids": ids}, headers=stranger.headers), 404, "bill_not_found")
    no_openid = {"Authorization": f"Bearer {f.token(owner.account_id)}"}
    assert_error(await w.client.post("/payments", json={"bill_ids": ids}, headers=no_openid), 400, "no_openid")
    p = await f.prepay(w, owner, ids)
    await f.user_pays(w, p)
    await f.settle_notifies(w, 1)
    assert_error(await w.client.post("/payments", json={"bill_ids": ids}, headers=owner.headers), 409, "bill_not_payable")
    assert_error(await w.client.get(f"/payments/{p['id']}", headers=stranger.headers), 404, "payment_not_found")
    assert_error(await w.client.post("/payments", json={"bill_ids": []}, headers=owner.headers), 422)


async def test_the_receipt_page_is_printable_html_with_the_lines(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    p = await f.prepay(w, owner, ids)
    await f.user_pays(w, p)
    await f.settle_notifies(w, 1)
    page = await w.client.get(f"/payments/{p['id']}/receipt.html", headers=owner.headers)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "物业费电子收据" in page.text and "210.33" in page.text and "<script" not in page.text


async def test_a_deleted_account_leaves_its_payments_without_its_openid(w: f.PayWorld) -> None:
    owner, ids = await _one_bill(w)
    p = await f.prepay(w, owner, ids)
    await f.user_pays(w, p)
    await f.settle_notifies(w, 1)
    await ie.account_deleted(w.app, w.cid, owner.account_id)
    async with w.app.state.sessionmaker() as s:
        paid = await s.get(Payment, p["id"])
    assert paid is not None and paid.status == "succeeded" and paid.amount_fen == p["amount_fen"]
    assert paid.payer_openid is None and paid.payer_account_id == owner.account_id
