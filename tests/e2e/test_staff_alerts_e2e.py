"""Issue 13's staff side over real loopback processes, through the gateway: a manager and a
crew member link their WeChat at staff-login; an owner reports; the desk (the manager) gets an
inbox entry and a push at the WeChat stand-in; the manager assigns; the crew member gets a
push, starts, holds with a reason, resumes and resolves; the owner hears each step; the
acknowledge clock's breach reaches the manager once."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from scripts.stack import Stack
from tests.e2e.seed import bearer, eventually, png

STACK_ENV = {
    "GATEWAY_RATE_ACCOUNT_PER_SECOND": "50", "GATEWAY_RATE_ACCOUNT_BURST": "200",
    "GATEWAY_RATE_IP_PER_SECOND": "50", "GATEWAY_RATE_IP_BURST": "200",
    # The acknowledge clock runs out at once, so its breach comes within the test; the
    # scheduler sweeps every second.
    "REPAIRS_ACKNOWLEDGE_MINUTES": "0",
    "REPAIRS_SCHEDULER_INTERVAL_SECONDS": "1",
    # The test runs at any hour: no push waits for the morning (quiet hours: in-process tests).
    "NOTICES_QUIET_HOURS": "false",
}

ROSTER = "楼栋,单元,房号,面积,状态,业主姓名,手机号\n1栋,,101,89.50,已交付,李明,13812341234\n"
REPAIR_TEMPLATE = "tpl-repair-progress"


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def test_owner_report_reaches_desk_and_crew_and_the_owner_hears_each_step(
    stack: Stack, gateway: httpx.Client
) -> None:
    admin = bearer(stack.issue_token(f"admin-{uuid.uuid4().hex[:8]}", platform_admin=True))
    cid = _ok(gateway.post("/api/v1/communities", json={"name": "员工提醒小区"}, headers=admin), 201)["id"]
    _ok(gateway.post(f"/api/v1/communities/{cid}/roster",
                     files={"file": ("roster.csv", ROSTER.encode("gbk"), "text/csv")}, headers=admin))
    wechat = httpx.Client(base_url=stack.url("wechat"), trust_env=False)

    def staff_on_wechat(role: str, department: str | None) -> tuple[dict[str, str], str, str]:
        """A staff member who logs in from the Mini Program: password and `wx.login` code."""
        username = f"{role}{uuid.uuid4().hex[:8]}"
        _ok(gateway.post(f"/api/v1/communities/{cid}/staff", headers=admin, json={
            "username": username, "password": "s3cret-pass", "name": "张师傅", "phone": "13700000000",
            "role": role, "department": department}), 201)
        openid = f"o-{role}-{uuid.uuid4().hex[:8]}"
        code = _ok(wechat.post("/_standin/login-codes", json={"openid": openid}))["code"]
        login = _ok(gateway.post("/api/v1/auth/staff-login",
                                 json={"username": username, "password": "s3cret-pass", "wx_code": code}))
        headers = bearer(login["access_token"])
        # Consents to be pushed (the Mini Program's requestSubscribeMessage), here and at WeChat.
        _ok(gateway.post("/api/v1/me/subscriptions", json={"template_ids": [REPAIR_TEMPLATE] * 5}, headers=headers))
        for _ in range(5):
            wechat.post("/_standin/consents", json={"openid": openid, "template_id": REPAIR_TEMPLATE})
        return headers, login["account"]["id"], openid

    manager, _manager_id, manager_openid = staff_on_wechat("manager", None)
    crew, crew_id, crew_openid = staff_on_wechat("crew", "repair")

    # The owner binds room 101 (verified by the WeChat-vouched phone).
    code = _ok(wechat.post("/_standin/login-codes", json={"openid": f"o-owner-{uuid.uuid4().hex[:8]}"}))["code"]
    owner = bearer(_ok(gateway.post("/api/v1/auth/wechat-login", json={"code": code}))["access_token"])
    phone_code = _ok(wechat.post("/_standin/phone-codes", json={"phone": "13812341234"}))["code"]
    _ok(gateway.post("/api/v1/me/phone", json={"code": phone_code}, headers=owner))
    tree = _ok(gateway.get(f"/api/v1/communities/{cid}/buildings", headers=owner))
    room = next(r["id"] for b in tree["buildings"] for u in b["units"] for r in u["rooms"])
    bound = _ok(gateway.post("/api/v1/me/bindings", headers=owner, json={
        "room_id": room, "relation": "owner", "name": "李明", "phone": "13812341234"}), 201)
    assert bound["status"] == "verified"

    def pushes(openid: str) -> list[dict[str, Any]]:
        body = _ok(wechat.get("/_standin/messages", params={"touser": openid}))
        return body["messages"] if isinstance(body, dict) else body

    def inbox(headers: dict[str, str]) -> list[dict[str, Any]]:
        return _ok(gateway.get("/api/v1/inbox", headers=headers))["items"]

    # The owner reports; the desk hears at once, in the inbox and by push.
    photo = eventually(
        lambda: (r := gateway.post("/api/v1/uploads", files={"file": ("leak.png", png(), "image/png")},
                                   headers=owner)).status_code == 201 and r.json(),
        "repairs to learn the owner's binding",
    )
    report = {"community_id": cid, "kind": "repair", "category": "water", "room_id": room,
              "description": "厨房水管漏水", "contact_phone": "13812341234", "photo_ids": [photo["id"]]}
    ticket = _ok(gateway.post("/api/v1/repairs", json=report, headers=owner), 201)
    tid = ticket["id"]
    link = f"/pages/repairs/detail?id={tid}"
    new = eventually(lambda: [e for e in inbox(manager) if e["kind"] == "staff_ticket_new"], "the desk's entry")
    assert new[0]["link"] == link
    eventually(lambda: [m for m in pushes(manager_openid) if m["page"] == link], "the desk's push")

    def step(headers: dict[str, str], body: dict[str, Any]) -> None:
        _ok(gateway.post(f"/api/v1/repairs/{tid}/transitions", json=body, headers=headers))

    step(manager, {"action": "accept"})
    eventually(lambda: gateway.post(f"/api/v1/repairs/{tid}/transitions", headers=manager,
                                    json={"action": "assign", "assignee_id": crew_id}).status_code == 200,
               "repairs to learn the crew member")
    assigned = eventually(lambda: [m for m in pushes(crew_openid) if m["page"] == link], "the crew member's push")
    assert assigned[0]["data"]["thing1"]["value"] == "新工单派给您"
    assert any(e["kind"] == "staff_ticket_assigned" for e in inbox(crew))

    step(crew, {"action": "start"})
    step(crew, {"action": "hold", "note": "等待配件到货"})
    step(crew, {"action": "resume"})
    done = _ok(gateway.post("/api/v1/uploads", files={"file": ("fixed.png", png(), "image/png")}, headers=crew), 201)
    step(crew, {"action": "resolve", "note": "已更换水管", "photo_ids": [done["id"]]})

    heard = ["repair_accept", "repair_assign", "repair_start", "repair_hold", "repair_resume", "repair_resolve"]
    eventually(
        lambda: (kinds := [e["kind"] for e in inbox(owner)]) and set(heard) <= set(kinds) and kinds,
        "the owner to hear every step",
    )
    hold = next(e for e in inbox(owner) if e["kind"] == "repair_hold")
    assert "等待配件到货" in hold["text"]
    assert all(e["link"] == link for e in inbox(owner) if e["kind"].startswith("repair_"))

    # The acknowledge clock (0 minutes here) ran out: the manager hears it, once, though both
    # the scheduler's sweep and the late accept may see it.
    eventually(lambda: [e for e in inbox(manager) if e["kind"] == "staff_ticket_overdue"], "the breach alert")
    # Every event of the ticket has been handled once the owner heard the resolve; the
    # breach came before it (acknowledge): one entry, one push.
    breaches = [e for e in inbox(manager) if e["kind"] == "staff_ticket_overdue"]
    assert len(breaches) == 1
    assert len([m for m in pushes(manager_openid) if m["data"]["thing1"]["value"].endswith("超时")]) == 1
    wechat.close()
