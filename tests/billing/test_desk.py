"""The finance desk: arrears by building and age, reminders, offline payments, refunds, the
collection rate, CSV exports and the daily reconciliation."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.billing import rules
from services.billing.models import Payment
from services.common.events.models import OutboxEvent
from tests.billing import factories as f
from tests.support import assert_error

# 2027-02-15, Shanghai: the December bills (due 2026-12-31) are 46 days overdue.
NOW = datetime(2027, 2, 15, 4, 0, tzinfo=UTC)


async def _two_buildings(w: f.PayWorld) -> dict[str, f.Owner]:
    owners = {}
    for building, no, area in (("1", "101", "100.00"), ("1", "102", "50.00"), ("2", "201", "80.00")):
        r = await f.room(w, building=building, room_no=no, area=area)
        owners[f"{building}-{no}"] = await f.owner_of(w, r["room_id"])
    await f.fee_item(w, rate_fen=200)
    await f.generate(w, "2026-12")
    return owners


async def _pay_wechat(w: f.PayWorld, owner: f.Owner) -> dict[str, str]:
    p = await f.prepay(w, owner, await f.unpaid_bill_ids(w, owner))
    await f.user_pays(w, p)
    await f.settle_notifies(w, 1, out_trade_no=p["id"])
    return p


async def _rate(w: f.PayWorld, period: str = "2026-12") -> dict[str, object]:
    r = await w.client.get(f"/communities/{w.cid}/fees/collection-rate", params={"period": period}, headers=w.manager)
    assert r.status_code == 200, r.text
    [row] = r.json()["periods"]
    return row


async def test_collection_rate_moves_with_payments_offline_payments_and_refunds(w: f.PayWorld) -> None:
    owners = await _two_buildings(w)
    row = await _rate(w)
    assert (row["billed_fen"], row["paid_fen"], row["rate"]) == (46000, 0, "0.00")
    await _pay_wechat(w, owners["1-101"])
    row = await _rate(w)
    assert (row["paid_fen"], row["rate"]) == (20000, "43.48")
    b1 = next(b for b in row["buildings"] if b["building_name"] == "1栋")
    assert (b1["billed_fen"], b1["paid_fen"], b1["rate"]) == (30000, 20000, "66.67")
    [bill_id] = await f.unpaid_bill_ids(w, owners["2-201"])
    cash = await w.client.post(
        f"/communities/{w.cid}/fees/offline-payments",
        json={"bill_ids": [bill_id], "channel": "cash", "offline_ref": "NO.000123"},
        headers=w.manager,
    )
    assert cash.status_code == 201 and cash.json()["receipt_no"] and cash.json()["offline_ref"] == "NO.000123"
    again = await w.client.post(
        f"/communities/{w.cid}/fees/offline-payments",
        json={"bill_ids": [bill_id], "channel": "cash", "offline_ref": "NO.000123"},
        headers=w.manager,
    )
    assert again.json()["id"] == cash.json()["id"]  # a retried record is the same payment
    assert (await _rate(w))["paid_fen"] == 36000
    refund = await w.client.post(f"/bills/{bill_id}/refund", json={"reason": "重复缴费"}, headers=w.manager)
    assert refund.status_code == 200 and refund.json()["amount_fen"] == 16000
    assert (await _rate(w))["paid_fen"] == 20000
    history = (await w.client.get(f"/bills/{bill_id}", headers=w.manager)).json()["history"]
    assert [h["action"] for h in history] == ["issued", "paid", "refunded"] and history[-1]["reason"] == "重复缴费"


async def test_refunding_a_wechat_payment_goes_through_wechat_pay(w: f.PayWorld) -> None:
    owners = await _two_buildings(w)
    owner = owners["1-101"]
    p = await _pay_wechat(w, owner)
    [bill_id] = p["bill_ids"]
    r = await w.client.post(f"/bills/{bill_id}/refund", json={"reason": "房屋交接前多收"}, headers=w.manager)
    assert r.status_code == 200 and r.json()["status"] == "SUCCESS"
    order = (await w.wx.get(f"/_standin/pay/orders/{p['id']}")).json()
    assert order["trade_state"] == "REFUND"
    assert (await f.payment(w, owner, p["id"]))["status"] == "refunded"
    assert (await f.my_bills(w, owner))["unpaid_fen"] == 20000
    assert_error(await w.client.post(f"/bills/{bill_id}/refund", json={"reason": "再退"}, headers=w.manager), 409, "bill_not_paid")
    async with w.app.state.sessionmaker() as s:
        [event] = (await s.scalars(select(OutboxEvent).where(OutboxEvent.type == "billing.payment.refunded"))).all()
    assert event.payload["account_ids"] == [owner.account_id] and event.payload["refund_fen"] == 20000


async def test_arrears_by_building_and_age_oldest_first(w: f.PayWorld) -> None:
    owners = await _two_buildings(w)
    await f.generate(w, "2027-01")
    await _pay_wechat(w, owners["2-201"])
    w.app.state.clock.set(NOW)
    r = await w.client.get(f"/communities/{w.cid}/fees/arrears", headers=w.manager)
    data = r.json()
    assert data["amount_fen"] == 2 * 30000
    [b1] = data["buildings"]
    assert b1["building_name"] == "1栋" and b1["by_age"]["31-90"] == 30000 and b1["by_age"]["0-30"] == 30000
    assert [i["period"] for i in data["items"]] == ["2026-12", "2026-12", "2027-01", "2027-01"]
    old = (await w.client.get(f"/communities/{w.cid}/fees/arrears", params={"min_overdue_days": 31}, headers=w.manager)).json()
    assert {i["period"] for i in old["items"]} == {"2026-12"} and old["amount_fen"] == 30000


async def test_reminders_go_once_per_bill_per_spacing_and_only_to_rooms_with_owners(w: f.PayWorld) -> None:
    await _two_buildings(w)
    await f.room(w, building="3", room_no="301")  # no owner bound: nobody to remind
    await f.generate(w, "2027-01")
    w.app.state.clock.set(NOW)
    url = f"/communities/{w.cid}/fees/reminders"
    first = (await w.client.post(url, json={}, headers=w.manager)).json()
    assert first == {"reminded": 6, "skipped_recent": 0, "skipped_no_owner": 1}
    second = (await w.client.post(url, json={}, headers=w.manager)).json()
    assert second == {"reminded": 0, "skipped_recent": 6, "skipped_no_owner": 1}
    w.app.state.clock.set(NOW + timedelta(days=7))
    third = (await w.client.post(url, json={"min_overdue_days": 40}, headers=w.manager)).json()
    assert third["reminded"] == 3  # the December bills of the three owned rooms
    async with w.app.state.sessionmaker() as s:
        events = (await s.scalars(select(OutboxEvent).where(OutboxEvent.type == "billing.bill.reminded"))).all()
    assert len(events) == 9 and all(e.payload["account_ids"] for e in events)


async def test_exports_are_formula_safe_csv(w: f.PayWorld) -> None:
    owners = await _two_buildings(w)
    [bill_id] = await f.unpaid_bill_ids(w, owners["1-102"])
    await w.client.post(
        f"/communities/{w.cid}/fees/offline-payments",
        json={"bill_ids": [bill_id], "channel": "transfer", "offline_ref": "=HYPERLINK(1)"},
        headers=w.manager,
    )
    today = datetime.now(UTC).astimezone(rules.SHANGHAI).strftime("%Y-%m-%d")
    r = await w.client.get(
        f"/communities/{w.cid}/fees/exports/payments.csv", params={"from": today, "to": today}, headers=w.manager
    )
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0][0] == "收据编号" and rows[1][7] == "'=HYPERLINK(1)" and rows[1][4] == "100.00"
    bills = await w.client.get(f"/communities/{w.cid}/fees/exports/bills.csv", params={"period": "2026-12"}, headers=w.manager)
    assert len(list(csv.reader(io.StringIO(bills.text.lstrip("\ufeff"))))) == 4
    assert_error(
        await w.client.get(f"/communities/{w.cid}/fees/exports/bills.csv", params={"period": "12"}, headers=w.manager),
        422,
    )


async def test_reconciliation_reports_no_difference_then_the_one_there_is(w: f.PayWorld) -> None:
    owners = await _two_buildings(w)
    await _pay_wechat(w, owners["1-101"])
    waiting = await f.prepay(w, owners["1-102"], await f.unpaid_bill_ids(w, owners["1-102"]))
    today = datetime.now(UTC).astimezone(rules.SHANGHAI).strftime("%Y-%m-%d")
    url = f"/communities/{w.cid}/fees/reconciliation"
    clean = (await w.client.get(url, params={"date": today}, headers=w.manager)).json()
    assert clean["checked"] == 2 and clean["differences"] == []
    # Paid at WeChat Pay, but neither notify nor query reached billing yet.
    await f.user_pays(w, waiting, notify="none")
    diff = (await w.client.get(url, params={"date": today}, headers=w.manager)).json()
    assert [(d["payment_id"], d["kind"], d["ours_status"], d["wechat_state"]) for d in diff["differences"]] == [
        (waiting["id"], "status_differs", "created", "SUCCESS")
    ]
    async with w.app.state.sessionmaker() as s:
        assert (await s.get(Payment, waiting["id"])).status == "created"  # type: ignore[union-attr]


async def test_desk_paths_are_for_managers_of_the_community(w: f.PayWorld) -> None:
    owners = await _two_buildings(w)
    owner = owners["1-101"]
    [bill_id] = await f.unpaid_bill_ids(w, owner)
    for method, path, body in (
        ("GET", f"/communities/{w.cid}/fees/arrears", None),
        ("GET", f"/communities/{w.cid}/fees/collection-rate", None),
        ("POST", f"/communities/{w.cid}/fees/reminders", {}),
        ("POST", f"/communities/{w.cid}/fees/offline-payments", {"bill_ids": [bill_id], "channel": "cash", "offline_ref": "1"}),
        ("POST", f"/bills/{bill_id}/refund", {"reason": "x"}),
        ("GET", f"/communities/{w.cid}/fees/reconciliation?date=2027-01-01", None),
    ):
        r = await w.client.request(method, path, json=body, headers=owner.headers)
        assert r.status_code == 404, (path, r.text)
