"""The crew's side end to end over real loopback processes, through the gateway: a manager
sets a dispatch rule; an owner reports; the desk accepts and assigns by the rule in one step;
the crew member finds it in their queue, starts, comments with a photo and resolves with a
completion photo; the owner reads the conversation, answers, confirms and rates; a ticket in
the department's pool is claimed by two crew members at once and one of them wins; the
manager reads the crew's statistics."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from scripts.stack import Stack
from tests.e2e.seed import ROSTER, _staff, _wechat_login, bearer, eventually, png

STACK_ENV = {"GATEWAY_RATE_ACCOUNT_PER_SECOND": "50", "GATEWAY_RATE_ACCOUNT_BURST": "200",
             "GATEWAY_RATE_IP_PER_SECOND": "50", "GATEWAY_RATE_IP_BURST": "200"}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def test_dispatch_queue_conversation_and_claim_race(stack: Stack, gateway: httpx.Client) -> None:
    admin = bearer(stack.issue_token(f"admin-{uuid.uuid4().hex[:8]}", platform_admin=True))
    cid = _ok(gateway.post("/api/v1/communities", json={"name": "翠湖苑"}, headers=admin), 201)["id"]
    _ok(gateway.post(f"/api/v1/communities/{cid}/roster",
                     files={"file": ("roster.csv", ROSTER.encode("gbk"), "text/csv")}, headers=admin))
    manager = bearer(_staff(gateway, admin, cid, "manager", None)["token"])
    wang, li = (_staff(gateway, admin, cid, "crew", "repair") for _ in range(2))
    wang_h, li_h = bearer(wang["token"]), bearer(li["token"])

    owner = _wechat_login(stack, gateway, phone="13812341234")
    owner_h = bearer(owner["token"])
    tree = _ok(gateway.get(f"/api/v1/communities/{cid}/buildings", headers=owner_h))
    room = next(r["id"] for b in tree["buildings"] for u in b["units"] for r in u["rooms"] if r["room_no"] == "101")
    _ok(gateway.post("/api/v1/me/bindings", json={"room_id": room, "relation": "owner", "name": "李明",
                                                  "phone": "13812341234"}, headers=owner_h), 201)

    # The manager's rule: water goes to 王 (once repairs has heard of him), electricity to the pool.
    rules = {"rules": [{"category": "water", "mode": "crew", "assignee_id": wang["account_id"]},
                       {"category": "electricity", "mode": "pool"}]}
    eventually(lambda: gateway.put(f"/api/v1/communities/{cid}/repairs/assignment-rules", json=rules,
                                   headers=manager).status_code == 200, "repairs to learn the crew")

    def upload(who: dict[str, str]) -> str | None:
        r = gateway.post("/api/v1/uploads", files={"file": ("p.png", png(), "image/png")}, headers=who)
        return str(r.json()["id"]) if r.status_code == 201 else None

    def report(category: str) -> dict[str, Any]:
        photo = eventually(lambda: upload(owner_h), "repairs to learn the owner's binding")
        body = {"community_id": cid, "kind": "repair", "category": category, "room_id": room,
                "description": "厨房水管漏水", "contact_phone": "13812341234", "photo_ids": [photo]}
        return dict(_ok(gateway.post("/api/v1/repairs", json=body, headers=owner_h), 201))

    def step(who: dict[str, str], tid: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(_ok(gateway.post(f"/api/v1/repairs/{tid}/transitions", json=body, headers=who)))

    # Owner reports; the desk accepts and assigns by rule in one step.
    tid = report("water")["id"]
    t = step(manager, tid, {"action": "accept_assign"})
    assert (t["status"], t["assignee_id"]) == ("assigned", wang["account_id"])

    def inbox_kinds(who: dict[str, str]) -> set[str]:
        items = _ok(gateway.get("/api/v1/inbox", params={"limit": 50}, headers=who))["items"]
        return {e["kind"] for e in items if e["link"].endswith(f"id={tid}")}

    # The desk heard of the report, and 王 of the assignment, in their inboxes.
    eventually(lambda: "staff_ticket_new" in inbox_kinds(manager), "the desk's inbox to hear of the report")
    eventually(lambda: "staff_ticket_assigned" in inbox_kinds(wang_h), "王's inbox to hear of the assignment")

    # 王 finds it in his queue, starts, comments with a photo, resolves with photos.
    queue = _ok(gateway.get("/api/v1/repairs", params={"assignee": "me", "status": "open"}, headers=wang_h))
    assert [x["id"] for x in queue["items"]] == [tid]
    assert set(queue["items"][0]["breaches"]) == {"acknowledge", "arrive", "resolve"}
    step(wang_h, tid, {"action": "start"})
    _ok(gateway.post(f"/api/v1/repairs/{tid}/comments", json={
        "text": "阀门老化，需要更换", "photo_ids": [upload(wang_h)]}, headers=wang_h), 201)
    _ok(gateway.post(f"/api/v1/repairs/{tid}/comments", json={"text": "备件从仓库领取", "internal": True},
                     headers=wang_h), 201)
    step(wang_h, tid, {"action": "resolve", "note": "已更换阀门", "photo_ids": [upload(wang_h), upload(wang_h)]})

    # The owner reads the conversation (not the internal note), answers, confirms and rates.
    seen = _ok(gateway.get(f"/api/v1/repairs/{tid}/comments", headers=owner_h))["items"]
    assert [(c["text"], c["author_side"], len(c["photos"])) for c in seen] == [("阀门老化，需要更换", "staff", 1)]
    assert gateway.get(seen[0]["photos"][0]["url"], headers=owner_h).status_code == 200
    eventually(lambda: "repair_comment" in inbox_kinds(owner_h), "the owner's inbox to hear of the reply")
    _ok(gateway.post(f"/api/v1/repairs/{tid}/comments", json={"text": "谢谢师傅，已经不漏了"}, headers=owner_h), 201)
    eventually(lambda: "staff_ticket_comment" in inbox_kinds(wang_h), "王's inbox to hear of the owner's answer")
    closed = step(owner_h, tid, {"action": "confirm", "rating": 5, "comment": "很及时"})
    assert closed["status"] == "closed"
    assert [e["action"] for e in closed["timeline"]] == ["submit", "accept_assign", "start", "resolve", "confirm"]
    staff_view = _ok(gateway.get(f"/api/v1/repairs/{tid}/comments", headers=wang_h))["items"]
    assert [c["author_side"] for c in staff_view] == ["staff", "staff", "resident"]
    # A comment on someone else's ticket: no such ticket for them.
    nobody = bearer(_wechat_login(stack, gateway)["token"])
    assert gateway.post(f"/api/v1/repairs/{tid}/comments", json={"text": "你好"}, headers=nobody).status_code == 404

    # The pool: two crew members claim at once; one wins, the other hears 409.
    pooled = report("electricity")["id"]
    assert step(manager, pooled, {"action": "accept_assign"})["pooled"] is True

    def claim(who: dict[str, str]) -> httpx.Response:
        with httpx.Client(base_url=stack.url("gateway"), timeout=10, trust_env=False,
                          headers={"X-Forwarded-For": f"10.9.{uuid.uuid4().int % 250}.1"}) as c:
            return c.post(f"/api/v1/repairs/{pooled}/claim", headers=who)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(claim, [wang_h, li_h]))
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    loser = next(r for r in answers if r.status_code == 409)
    assert loser.json()["error"]["code"] == "already_claimed"
    winner = next(r for r in answers if r.status_code == 200).json()["assignee_id"]
    assert winner in (wang["account_id"], li["account_id"])

    # The desk's staff list and the manager's statistics.
    staff = _ok(gateway.get(f"/api/v1/communities/{cid}/repairs/staff", headers=manager))
    assert {s["account_id"]: s["open_tickets"] for s in staff}[winner] == 1
    stats = _ok(gateway.get(f"/api/v1/communities/{cid}/repairs/stats/crew", headers=manager))
    wang_stats = next(c for c in stats["crew"] if c["account_id"] == wang["account_id"])
    assert (wang_stats["handled"], wang_stats["rated"], wang_stats["rating_average"]) == (1, 1, 5.0)
    assert gateway.get(f"/api/v1/communities/{cid}/repairs/stats/crew", headers=wang_h).status_code == 404
