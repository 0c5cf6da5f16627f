"""The whole chain over real loopback processes, through the gateway: a platform admin opens
a community and imports its roster; an owner logs in with WeChat and binds a room, verified
against the roster; identity's events reach repairs, votes and notices by signed webhooks;
the owner reports a repair that a manager dispatches to a crew member, who resolves it; the
owner confirms, and each step reaches the owner's inbox; a vote opens on the replicated
electorate, the owner votes, and the result is published."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scripts.stack import Stack
from tests.e2e.seed import bearer as _bearer
from tests.e2e.seed import eventually as _eventually
from tests.e2e.seed import png as _png

# The flow polls while events cross processes; rate limits have their own e2e test.
STACK_ENV = {"GATEWAY_RATE_ACCOUNT_PER_SECOND": "50", "GATEWAY_RATE_ACCOUNT_BURST": "200",
             "GATEWAY_RATE_IP_PER_SECOND": "50", "GATEWAY_RATE_IP_BURST": "200"}


ROSTER = (
    "楼栋,单元,房号,面积,状态,业主姓名,手机号\n"
    "1栋,,101,89.50,已交付,李明,13812341234\n"
    "1栋,,102,100.00,已交付,王芳,13900001111\n"
    "2栋,,201,120.25,未售,,\n"
)


def test_owner_repair_and_vote_flow_end_to_end(stack: Stack, gateway: httpx.Client) -> None:
    admin = _bearer(stack.issue_token(f"admin-{uuid.uuid4().hex[:8]}", platform_admin=True))

    # A community and its roster (GBK, as Excel exports it).
    r = gateway.post("/api/v1/communities", json={"name": "阳光花园"}, headers=admin)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = gateway.post(
        f"/api/v1/communities/{cid}/roster",
        files={"file": ("roster.csv", ROSTER.encode("gbk"), "text/csv")},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["rooms_created"] == 3

    # Staff: a crew member of the repair department, who logs in with a password.
    crew_username = f"crew{uuid.uuid4().hex[:6]}"
    r = gateway.post(
        f"/api/v1/communities/{cid}/staff",
        json={"username": crew_username, "password": "s3cret-pass", "name": "王师傅",
              "phone": "13700000000", "role": "crew", "department": "repair"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = gateway.post("/api/v1/auth/staff-login", json={"username": crew_username, "password": "s3cret-pass"})
    assert r.status_code == 200, r.text
    crew = _bearer(r.json()["access_token"])
    crew_id = r.json()["account"]["id"]
    manager = _bearer(stack.issue_token(f"mgr-{uuid.uuid4().hex[:8]}", staff={cid: {"role": "manager", "department": None}}))

    # The owner logs in through WeChat (the stand-in plays wx.login) and binds room 101.
    openid = f"o-{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=stack.url("wechat"), trust_env=False) as wechat:
        code = wechat.post("/_standin/login-codes", json={"openid": openid}).json()["code"]
        phone_code = wechat.post("/_standin/phone-codes", json={"phone": "13812341234"}).json()["code"]
    r = gateway.post("/api/v1/auth/wechat-login", json={"code": code})
    assert r.status_code == 200, r.text
    owner = _bearer(r.json()["access_token"])
    # getPhoneNumber: WeChat vouches for the phone, which is what verifies an owner's claim.
    assert gateway.post("/api/v1/me/phone", json={"code": phone_code}, headers=owner).status_code == 200
    tree = gateway.get(f"/api/v1/communities/{cid}/buildings", headers=owner).json()
    room_101 = next(
        room["id"] for b in tree["buildings"] for u in b["units"] for room in u["rooms"] if room["room_no"] == "101"
    )
    r = gateway.post(
        "/api/v1/me/bindings",
        json={"room_id": room_101, "relation": "owner", "name": "李明", "phone": "13812341234"},
        headers=owner,
    )
    assert r.status_code == 201 and r.json()["status"] == "verified", r.text
    assert gateway.get("/api/v1/me", headers=owner).json()["display_name"] == "1栋101李明"

    # Repairs learns of the binding by webhook: the owner's in-home report is accepted.
    def upload() -> httpx.Response | None:
        resp = gateway.post("/api/v1/uploads", files={"file": ("leak.png", _png(), "image/png")}, headers=owner)
        # 403 before repairs has any binding of the owner's; 409 binding_syncing once identity
        # says it is verified but the event has not arrived yet.
        assert resp.status_code in (201, 403, 409), resp.text
        return resp if resp.status_code == 201 else None

    photo = _eventually(upload, "repairs to learn the owner's binding before an upload")
    report = {
        "community_id": cid, "kind": "repair", "category": "water", "room_id": room_101,
        "description": "厨房水管漏水", "contact_phone": "13812341234", "photo_ids": [photo.json()["id"]],
    }

    def submit() -> httpx.Response | None:
        resp = gateway.post("/api/v1/repairs", json=report, headers=owner)
        return resp if resp.status_code == 201 else None

    ticket = _eventually(submit, "repairs to learn the owner's binding").json()
    tid = ticket["id"]
    assert ticket["status"] == "submitted"

    # ... and of the crew member, whom the manager assigns.
    def step(headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        resp = gateway.post(f"/api/v1/repairs/{tid}/transitions", json=body, headers=headers)
        assert resp.status_code == 200, resp.text
        return resp.json()

    step(manager, {"action": "accept"})
    _eventually(
        lambda: gateway.post(
            f"/api/v1/repairs/{tid}/transitions", json={"action": "assign", "assignee_id": crew_id}, headers=manager
        ).status_code == 200,
        "repairs to learn the crew member",
    )
    step(crew, {"action": "start"})
    done = gateway.post("/api/v1/uploads", files={"file": ("fixed.png", _png(), "image/png")}, headers=crew).json()
    step(crew, {"action": "resolve", "note": "已更换水管", "photo_ids": [done["id"]]})
    final = step(owner, {"action": "confirm", "rating": 5, "comment": "很及时"})
    assert final["status"] == "closed"
    timeline = gateway.get(f"/api/v1/repairs/{tid}", headers=owner).json()["timeline"]
    assert [e["to_status"] for e in timeline][-5:] == ["accepted", "assigned", "in_progress", "resolved", "closed"]

    # The owner's inbox hears of the progress through repairs' events.
    def inbox_texts() -> list[str]:
        return [e["title"] + e.get("body", "") for e in gateway.get("/api/v1/inbox", headers=owner).json()["items"]]

    _eventually(lambda: len(inbox_texts()) >= 3, "inbox entries for accepted, assigned, resolved")

    # A vote on the replicated electorate: 3 rooms, the owner votes for room 101.
    closes = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    r = gateway.post(
        "/api/v1/votes",
        json={"community_id": cid, "kind": "vote", "title": "更换电梯", "closes_at": closes,
              "motions": [{"title": "使用维修资金更换电梯", "matter": "major"}]},
        headers=manager,
    )
    assert r.status_code == 201, r.text
    vote_id = r.json()["id"]
    r = _eventually(
        lambda: (resp := gateway.post(f"/api/v1/votes/{vote_id}/open", headers=manager)).status_code == 200 and resp,
        "votes to learn the rooms",
    )
    managed = gateway.get(f"/api/v1/votes/{vote_id}", headers=manager)
    assert managed.status_code == 200, managed.text
    assert managed.json()["electorate_rooms"] == 3
    detail = gateway.get(f"/api/v1/votes/{vote_id}", headers=owner).json()
    assert [room["room_id"] for room in detail["my_rooms"]] == [room_101]
    motion = detail["items"][0]
    agree = next(o["id"] for o in motion["options"] if "同意" == o["label"] or o["id"] == "agree")
    r = gateway.post(
        f"/api/v1/votes/{vote_id}/ballots",
        json={"room_id": room_101, "answers": [{"item_id": motion["id"], "option_ids": [agree]}]},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    assert gateway.post(f"/api/v1/votes/{vote_id}/close", headers=manager).status_code == 200
    results = gateway.get(f"/api/v1/votes/{vote_id}/results", headers=owner)
    assert results.status_code == 200, results.text
    assert results.json()["motions"][0]["outcome"] == "no_quorum"

    # The vote's opening reached the inbox too; and identity's deliveries are all done.
    _eventually(lambda: len(inbox_texts()) >= 4, "an inbox entry for the vote")
    summary = gateway.get("/api/v1/admin/events/identity/summary", headers=admin)
    assert summary.status_code == 200, summary.text
