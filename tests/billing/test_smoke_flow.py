"""The owner's whole path: bill, prepay, pay in WeChat, notify, receipt."""

from __future__ import annotations

from tests.billing import factories as f


async def test_owner_pays_a_bill_through_wechat_pay_and_gets_a_receipt(w: f.PayWorld) -> None:
    r = await f.room(w, area="89.50")
    owner = await f.owner_of(w, r["room_id"])
    await f.fee_item(w)
    out = await f.generate(w)
    assert out["created"] == 1 and out["amount_fen"] == 21033  # 89.50 × 2.35 = 210.325 → 210.33
    ids = await f.unpaid_bill_ids(w, owner)
    p = await f.prepay(w, owner, ids)
    assert p["status"] == "created" and p["pay_params"]["signType"] == "RSA"
    await f.user_pays(w, p)
    await f.settle_notifies(w, 1)
    got = await f.payment(w, owner, p["id"])
    assert got["status"] == "succeeded" and got["receipt_no"]
    receipt = (await w.client.get(f"/payments/{p['id']}/receipt", headers=owner.headers)).json()
    assert receipt["amount_fen"] == 21033 and receipt["rooms"] == [r["label"]]
    assert await f.notification_outcomes(w) == ["accepted"]
