"""Fee items, generating a period (idempotent), the owner's bills, adjustments and waivers."""

from __future__ import annotations

from sqlalchemy import select

from services.billing.models import Bill
from services.common.events.models import OutboxEvent
from tests.billing import factories as f
from tests.support import assert_error, auth, manager_token, token


async def test_generating_a_month_bills_every_room_once_with_the_vacancy_discount(w: f.PayWorld) -> None:
    delivered = await f.room(w, area="89.50", room_no="101")
    unsold = await f.room(w, area="100.00", room_no="102", state="unsold")
    await f.fee_item(w, vacant_percent=70)
    await f.fee_item(w, code="laji", name="垃圾清运费", kind="fixed", rate_fen=1000)
    first = await f.generate(w)
    assert first == {"period": "2026-12", "created": 2, "skipped": 0, "amount_fen": 21033 + 1000 + 16450 + 1000}
    again = await f.generate(w)
    assert again["created"] == 0 and again["skipped"] == 2
    async with w.app.state.sessionmaker() as s:
        amounts = {b.room_id: b.amount_fen for b in (await s.scalars(select(Bill))).all()}
        issued = (await s.scalars(select(OutboxEvent).where(OutboxEvent.type == "billing.bill.issued"))).all()
    assert amounts == {delivered["room_id"]: 22033, unsold["room_id"]: 17450}
    assert len(issued) == 2


async def test_a_quarter_overlapping_a_billed_month_is_skipped_for_that_room(w: f.PayWorld) -> None:
    await f.room(w)
    await f.fee_item(w)
    await f.generate(w, "2026-11")
    assert (await f.generate(w, "2026-Q4"))["created"] == 0
    assert (await f.generate(w, "2027-Q1"))["created"] == 1


async def test_a_rate_change_applies_from_its_month(w: f.PayWorld) -> None:
    r = await f.room(w, area="100.00")
    await f.fee_item(w, rate_fen=200, effective_from="2026-01")
    await f.fee_item(w, rate_fen=250, effective_from="2027-01")
    await f.generate(w, "2026-12")
    await f.generate(w, "2027-01")
    owner = await f.owner_of(w, r["room_id"])
    data = await f.my_bills(w, owner)
    assert sorted(b["amount_fen"] for b in data["rooms"][0]["bills"]) == [20000, 25000]


async def test_fee_items_are_versioned_and_a_conflicting_version_is_refused(w: f.PayWorld) -> None:
    await f.fee_item(w)
    await f.fee_item(w)  # the same version again: a retried request
    r = await w.client.post(
        f"/communities/{w.cid}/fees/items",
        json={"code": "wuye", "name": "物业费", "kind": "per_area", "rate_fen": 999, "effective_from": "2026-01"},
        headers=w.manager,
    )
    assert_error(r, 409, "fee_version_exists")
    items = (await w.client.get(f"/communities/{w.cid}/fees/items", headers=w.manager)).json()
    assert [i["rate_fen"] for i in items] == [235]


async def test_generation_refuses_a_bad_period_and_a_community_without_fee_items(w: f.PayWorld) -> None:
    r = await w.client.post(f"/communities/{w.cid}/fees/bills/generate", json={"period": "2026-13"}, headers=w.manager)
    assert_error(r, 422, "invalid_period")
    r = await w.client.post(f"/communities/{w.cid}/fees/bills/generate", json={"period": "2026-12"}, headers=w.manager)
    assert_error(r, 422, "no_fee_items")


async def test_only_managers_of_the_community_set_fees_and_generate(w: f.PayWorld) -> None:
    other = auth(manager_token("another-community"))
    r = await w.client.post(f"/communities/{w.cid}/fees/bills/generate", json={"period": "2026-12"}, headers=other)
    assert_error(r, 404, "community_not_found")
    r = await w.client.get(f"/communities/{w.cid}/fees/items", headers=auth(token()))
    assert_error(r, 404, "community_not_found")


async def test_owners_see_their_rooms_bills_unpaid_first_with_totals_and_nobody_elses(w: f.PayWorld) -> None:
    mine = await f.room(w, area="89.50", room_no="101")
    theirs = await f.room(w, area="50.00", room_no="102")
    await f.fee_item(w)
    await f.generate(w, "2026-11")
    await f.generate(w, "2026-12")
    owner = await f.owner_of(w, mine["room_id"])
    neighbour = await f.owner_of(w, theirs["room_id"])
    tenant = await f.owner_of(w, mine["room_id"], relation="tenant")
    data = await f.my_bills(w, owner)
    assert data["unpaid_fen"] == 2 * 21033
    assert [room["room_id"] for room in data["rooms"]] == [mine["room_id"]]
    bill_id = data["rooms"][0]["bills"][0]["id"]
    assert data["rooms"][0]["bills"][0]["lines"][0]["basis"].startswith("89.50㎡")
    assert (await w.client.get(f"/bills/{bill_id}", headers=owner.headers)).status_code == 200
    assert_error(await w.client.get(f"/bills/{bill_id}", headers=neighbour.headers), 404, "bill_not_found")
    assert_error(await w.client.get(f"/bills/{bill_id}", headers=tenant.headers), 404, "bill_not_found")
    assert (await f.my_bills(w, tenant))["rooms"] == []


async def test_an_owner_who_left_no_longer_sees_the_rooms_bills(w: f.PayWorld) -> None:
    r = await f.room(w)
    await f.fee_item(w)
    await f.generate(w)
    bound = await f.ie.binding(w.app, w.cid, r["room_id"])
    headers = auth(token(bound["account_id"], openid="o1"))
    bill_id = (await w.client.get("/me/bills", headers=headers)).json()["rooms"][0]["bills"][0]["id"]
    await f.ie.revoke(w.app, bound)
    assert_error(await w.client.get(f"/bills/{bill_id}", headers=headers), 404, "bill_not_found")
    assert (await w.client.get("/me/bills", headers=headers)).json() == {"unpaid_fen": 0, "rooms": []}


async def test_adjustments_and_waivers_need_a_reason_and_stay_in_the_history(w: f.PayWorld) -> None:
    r = await f.room(w, area="100.00")
    await f.fee_item(w)
    await f.generate(w)
    owner = await f.owner_of(w, r["room_id"])
    bill_id = (await f.unpaid_bill_ids(w, owner))[0]
    r1 = await w.client.post(f"/bills/{bill_id}/adjustments", json={"amount_fen": -3500, "reason": ""}, headers=w.manager)
    assert_error(r1, 422)
    r2 = await w.client.post(f"/bills/{bill_id}/adjustments", json={"amount_fen": -3500, "reason": "电梯停运补偿"}, headers=w.manager)
    assert r2.status_code == 200 and r2.json()["amount_fen"] == 20000
    r3 = await w.client.post(f"/bills/{bill_id}/waive", json={"reason": "困难户减免"}, headers=w.manager)
    assert r3.json()["status"] == "waived"
    history = [(h["action"], h["amount_fen"], h["reason"]) for h in r3.json()["history"]]
    assert history == [("issued", 20000, ""), ("adjusted", -3500, "电梯停运补偿"), ("waived", -20000, "困难户减免")]
    r4 = await w.client.post(f"/bills/{bill_id}/adjustments", json={"amount_fen": 100, "reason": "x"}, headers=w.manager)
    assert_error(r4, 409, "bill_not_adjustable")
    assert_error(await w.client.post(f"/bills/{bill_id}/waive", json={"reason": "x"}, headers=owner.headers), 404, "bill_not_found")


async def test_an_adjustment_never_takes_a_bill_below_zero(w: f.PayWorld) -> None:
    r = await f.room(w, area="100.00")
    await f.fee_item(w)
    await f.generate(w)
    owner = await f.owner_of(w, r["room_id"])
    bill_id = (await f.unpaid_bill_ids(w, owner))[0]
    out = await w.client.post(f"/bills/{bill_id}/adjustments", json={"amount_fen": -10**8, "reason": "全免"}, headers=w.manager)
    assert out.json()["amount_fen"] == 0


async def test_the_manager_lists_a_periods_bills_page_by_page(w: f.PayWorld) -> None:
    for no in ("101", "102", "103"):
        await f.room(w, room_no=no)
    await f.fee_item(w)
    await f.generate(w)
    seen, cursor = [], None
    while True:
        params = {"period": "2026-12", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await w.client.get(f"/communities/{w.cid}/fees/bills", params=params, headers=w.manager)).json()
        seen += [b["room_label"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["1栋101", "1栋102", "1栋103"]
