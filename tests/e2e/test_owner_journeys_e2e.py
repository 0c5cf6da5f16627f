"""The owner's journeys through the gateway (issue 15, items 1-7): finding the community by
QR code or search, binding with the WeChat-verified phone only, the building-by-building
room picker, the home screen in one call, read state in step between notices and the inbox,
votes to do and one ballot request for several rooms, the contact card, and notices with
pictures and PDF files."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scripts.stack import Stack
from tests.e2e.seed import _ok, _staff, _wechat_login, bearer, eventually, png

STACK_ENV = {"GATEWAY_RATE_ACCOUNT_PER_SECOND": "50", "GATEWAY_RATE_ACCOUNT_BURST": "200",
             "GATEWAY_RATE_IP_PER_SECOND": "50", "GATEWAY_RATE_IP_BURST": "200"}

# 李明 owns two rooms (one buyer); 王芳 one; 1栋102 is 李明's too.
ROSTER = (
    "楼栋,单元,房号,面积,状态,业主姓名,手机号,业主标识\n"
    "1栋,1,101,89.50,已交付,李明,13812341234,li\n"
    "1栋,1,102,100.00,已交付,李明,13812341234,li\n"
    "2栋,,201,120.00,已交付,王芳,13900001111,\n"
)


def _community(stack: Stack, gateway: httpx.Client, name: str, city: str) -> dict[str, Any]:
    admin = bearer(stack.issue_token(f"admin-{uuid.uuid4().hex[:8]}", platform_admin=True))
    community = _ok(gateway.post("/api/v1/communities", json={"name": name, "city": city}, headers=admin), 201)
    cid = community["id"]
    _ok(gateway.post(f"/api/v1/communities/{cid}/roster",
                     files={"file": ("r.csv", ROSTER.encode(), "text/csv")}, headers=admin))
    manager = _staff(gateway, admin, cid, "manager", None)
    return {"cid": cid, "admin": admin, "manager": bearer(manager["token"]), "manager_id": manager["account_id"]}


def _rooms(gateway: httpx.Client, cid: str, headers: dict[str, str]) -> dict[str, str]:
    """label -> room id, the picker's way: buildings first, then each building's rooms."""
    listed = _ok(gateway.get(f"/api/v1/communities/{cid}/buildings", params={"rooms": "false"}, headers=headers))
    out: dict[str, str] = {}
    for b in listed["buildings"]:
        assert b["units"] == [] and b["room_count"] > 0
        one = _ok(gateway.get(f"/api/v1/communities/{cid}/buildings/{b['id']}", headers=headers))
        out |= {r["label"]: r["id"] for u in one["units"] for r in u["rooms"]}
    return out


def _bind(gateway: httpx.Client, headers: dict[str, str], room: str, relation: str = "owner") -> dict[str, Any]:
    return _ok(gateway.post("/api/v1/me/bindings", json={"room_id": room, "relation": relation}, headers=headers), 201)


def _publish(gateway: httpx.Client, manager: dict[str, str], cid: str, **fields: Any) -> dict[str, Any]:
    body = {"community_id": cid, "title": "通知", "body": "内容", "category": "emergency",
            "expires_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()} | fields
    notice = _ok(gateway.post("/api/v1/notices", json=body, headers=manager), 201)
    for action in ("submit", "approve", "publish") if body["category"] != "emergency" else ("publish",):
        _ok(gateway.post(f"/api/v1/notices/{notice['id']}/{action}", headers=manager))
    return notice


def _single_manager(gateway: httpx.Client, world: dict[str, Any]) -> None:
    _ok(gateway.put("/api/v1/notices/settings", params={"community_id": world["cid"]},
                    json={"single_manager": True}, headers=world["admin"]))


# ------------------------------------------------------------------ 2, 3: finding, binding


def test_owner_finds_the_community_by_qr_code_or_search_and_binds_with_the_wechat_phone_only(
    stack: Stack, gateway: httpx.Client
) -> None:
    city = f"杭州{uuid.uuid4().hex[:4]}市"
    world = _community(stack, gateway, "西溪花园", city)
    cid, manager = world["cid"], world["manager"]
    scene = _ok(gateway.post(f"/api/v1/communities/{cid}/scenes", json={}, headers=manager))
    again = _ok(gateway.post(f"/api/v1/communities/{cid}/scenes", json={}, headers=manager))
    assert again["scene"] == scene["scene"] and scene["building_id"] is None

    # The Mini Program resolves the scanned code before anyone logs in.
    landing = _ok(gateway.get(f"/api/v1/scenes/{scene['scene']}"))
    assert landing["community"] == {"id": cid, "name": "西溪花园", "city": city}
    unknown = gateway.get("/api/v1/scenes/NoSuchCode123")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "scene_not_found"
    assert not unknown.json()["error"]["message"].isascii()
    # Creating codes is the manager's: an owner-to-be cannot.
    someone = _wechat_login(stack, gateway, phone="13812341234")
    assert gateway.post(f"/api/v1/communities/{cid}/scenes", json={},
                        headers=bearer(someone["token"])).status_code == 404

    # Or search: by name and by city, logged in but bound nowhere.
    me = bearer(someone["token"])
    by_city = _ok(gateway.get("/api/v1/communities", params={"q": city}, headers=me))
    assert [c["id"] for c in by_city["items"]] == [cid]
    by_name = _ok(gateway.get("/api/v1/communities", params={"q": "西溪花", "limit": 100}, headers=me))
    assert cid in [c["id"] for c in by_name["items"]]
    # LIKE's wildcards are taken literally.
    assert _ok(gateway.get("/api/v1/communities", params={"q": "%"}, headers=me))["items"] == []

    rooms = _rooms(gateway, cid, me)
    assert set(rooms) == {"1栋1单元101", "1栋1单元102", "2栋201"}
    # A building code lands on that building.
    b2 = _ok(gateway.get(f"/api/v1/communities/{cid}/buildings", params={"rooms": "false"}, headers=me))
    building = next(b for b in b2["buildings"] if b["name"] == "2栋")
    code = _ok(gateway.post(f"/api/v1/communities/{cid}/scenes", json={"building_id": building["id"]},
                            headers=manager))
    assert _ok(gateway.get(f"/api/v1/scenes/{code['scene']}"))["building"] == {"id": building["id"], "name": "2栋"}

    # Room and relation only: the phone from WeChat, the name from the roster.
    bound = _bind(gateway, me, rooms["1栋1单元101"])
    assert bound["status"] == "verified" and bound["name"] == "李明"
    # Without a verified phone the form needs the name and phone.
    bare = _wechat_login(stack, gateway)
    refused = gateway.post("/api/v1/me/bindings", json={"room_id": rooms["2栋201"], "relation": "owner"},
                           headers=bearer(bare["token"]))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "phone_not_verified"
    assert not refused.json()["error"]["message"].isascii()
    # A verified phone the roster does not list waits for the manager, like a typed claim.
    other = _wechat_login(stack, gateway, phone="13000000000")
    waiting = _bind(gateway, bearer(other["token"]), rooms["2栋201"])
    assert waiting["status"] == "pending" and waiting["phone"] == "13000000000"


# ------------------------------------------------------------------ 7: the contact card


def test_manager_sets_the_contact_card_members_read_it_the_qr_landing_shows_its_numbers(
    stack: Stack, gateway: httpx.Client
) -> None:
    world = _community(stack, gateway, "滨江小区", "杭州市")
    cid, manager = world["cid"], world["manager"]
    card = {"service_phone": "0571-88886666", "office_hours": "每天 8:00-18:00",
            "emergency_numbers": [{"label": "物业值班", "phone": "13700000000"}],
            "group_rules": "1. 禁止广告\n2. 文明发言"}
    assert _ok(gateway.put(f"/api/v1/communities/{cid}/contact-card", json=card, headers=manager))[
        "group_rules"] == card["group_rules"]
    owner = _wechat_login(stack, gateway, phone="13900001111")
    stranger = _wechat_login(stack, gateway)
    assert gateway.get(f"/api/v1/communities/{cid}/contact-card",
                       headers=bearer(stranger["token"])).status_code == 404
    _bind(gateway, bearer(owner["token"]), _rooms(gateway, cid, bearer(owner["token"]))["2栋201"])
    shown = _ok(gateway.get(f"/api/v1/communities/{cid}/contact-card", headers=bearer(owner["token"])))
    assert shown["service_phone"] == "0571-88886666" and shown["emergency_numbers"] == card["emergency_numbers"]
    # Only the manager sets it; bad numbers are refused in Chinese, nothing changed.
    assert gateway.put(f"/api/v1/communities/{cid}/contact-card", json=card,
                       headers=bearer(owner["token"])).status_code == 404
    bad = gateway.put(f"/api/v1/communities/{cid}/contact-card", json={"service_phone": "call<me>"}, headers=manager)
    assert bad.status_code == 422
    scene = _ok(gateway.post(f"/api/v1/communities/{cid}/scenes", json={}, headers=manager))["scene"]
    contact = _ok(gateway.get(f"/api/v1/scenes/{scene}"))["contact"]
    assert contact["service_phone"] == "0571-88886666" and "group_rules" not in contact


# ------------------------------------------------------------------ 1, 4, 5: home, read state, votes


def _owner_of_two_rooms(stack: Stack, gateway: httpx.Client) -> dict[str, Any]:
    world = _community(stack, gateway, "翠苑小区", "杭州市")
    owner = _wechat_login(stack, gateway, phone="13812341234")
    headers = bearer(owner["token"])
    rooms = _rooms(gateway, world["cid"], headers)
    for label in ("1栋1单元101", "1栋1单元102"):
        assert _bind(gateway, headers, rooms[label])["status"] == "verified"
    return world | {"owner": headers, "rooms": rooms}


def test_home_in_one_call_and_read_state_in_step(stack: Stack, gateway: httpx.Client) -> None:
    world = _owner_of_two_rooms(stack, gateway)
    cid, manager, owner = world["cid"], world["manager"], world["owner"]
    _single_manager(gateway, world)
    emergency = _publish(gateway, manager, cid, title="紧急停水", body="今晚 22:00 起停水")
    fair = _publish(gateway, manager, cid, title="中秋游园会", body="本周六晚在中心广场", category="activity",
                    expires_at=None)
    starts = datetime.now(UTC) + timedelta(days=3)
    _ok(gateway.post("/api/v1/activities", json={
        "notice_id": fair["id"], "location": "中心广场", "starts_at": starts.isoformat(),
        "signup_deadline": (starts - timedelta(days=1)).isoformat(), "capacity": 100}, headers=manager), 201)
    upload = eventually(
        lambda: (r := gateway.post("/api/v1/uploads", files={"file": ("a.png", png(), "image/png")},
                                   headers=owner)).status_code == 201 and r.json(),
        "repairs to learn the owner's binding")
    report = {"community_id": cid, "kind": "repair", "category": "water", "room_id": world["rooms"]["1栋1单元101"],
              "description": "厨房水管漏水", "contact_phone": "13812341234", "photo_ids": [upload["id"]]}
    ticket = _ok(gateway.post("/api/v1/repairs", json=report, headers=owner), 201)
    _ok(gateway.post(f"/api/v1/repairs/{ticket['id']}/transitions", json={"action": "accept"}, headers=manager))

    arrived = {"notice_emergency", "notice_activity", "repair_accept"}
    home = eventually(
        lambda: arrived <= set((h := _ok(gateway.get("/api/v1/me/home", params={"community_id": cid},
                                                     headers=owner)))["unread_by_kind"]) and h,
        "the notices and the repair progress to reach the inbox")
    assert home["community"]["id"] == cid and home["unavailable"] == []
    assert sorted(r["room_label"] for r in home["rooms"]) == ["1栋1单元101", "1栋1单元102"]
    assert {r["status"] for r in home["rooms"]} == {"verified"}
    assert home["notices"][0]["id"] == emergency["id"] and len(home["notices"]) <= 3
    assert [a["title"] for a in home["upcoming_activities"]] == ["中秋游园会"]
    assert [(t["id"], t["status"]) for t in home["open_tickets"]] == [(ticket["id"], "accepted")]
    assert home["unread_by_kind"]["notice_emergency"] == 1
    # Only members and staff of the community: anyone else, or another id, is 404.
    stranger = bearer(_wechat_login(stack, gateway)["token"])
    refused = gateway.get("/api/v1/me/home", params={"community_id": cid}, headers=stranger)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "community_not_found"
    assert gateway.get("/api/v1/me/home", headers=owner).status_code == 422
    assert gateway.get("/api/v1/me/home", params={"community_id": cid}).status_code == 401

    # Opening the notice clears its inbox entry...
    _ok(gateway.get(f"/api/v1/notices/{emergency['id']}", headers=owner))
    counts = _ok(gateway.get("/api/v1/inbox/unread-count", headers=owner))
    assert "notice_emergency" not in counts["by_kind"]
    # ...and reading the activity's entry in the inbox records the notice's read.
    entry = next(e for e in _ok(gateway.get("/api/v1/inbox", headers=owner))["items"] if e["kind"] == "notice_activity")
    _ok(gateway.post(f"/api/v1/inbox/{entry['id']}/read", headers=owner))
    feed = _ok(gateway.get("/api/v1/notices", params={"community_id": cid, "view": "feed"}, headers=owner))
    assert all(n["read"] for n in feed["items"])
    receipts = _ok(gateway.get(f"/api/v1/notices/{emergency['id']}/receipts", headers=manager))
    assert receipts["read"] == receipts["targeted"] == 2
    # Read-all clears the rest, and repeating it changes nothing.
    done = _ok(gateway.post("/api/v1/inbox/read-all", headers=owner))
    assert done["unread_count"] == 0 and done["marked"] >= 1
    assert _ok(gateway.post("/api/v1/inbox/read-all", headers=owner))["marked"] == 0
    home = _ok(gateway.get("/api/v1/me/home", params={"community_id": cid}, headers=owner))
    assert home["unread_inbox"] == 0 and all(n["read"] for n in home["notices"])


def test_votes_to_do_and_one_ballot_request_for_several_rooms(stack: Stack, gateway: httpx.Client) -> None:
    world = _owner_of_two_rooms(stack, gateway)
    cid, manager, owner = world["cid"], world["manager"], world["owner"]
    closes = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    vote = _ok(gateway.post("/api/v1/votes", json={
        "community_id": cid, "kind": "vote", "title": "更换电梯", "closes_at": closes,
        "motions": [{"title": "使用维修资金更换电梯", "matter": "major"}]}, headers=manager), 201)
    eventually(lambda: gateway.post(f"/api/v1/votes/{vote['id']}/open", headers=manager).status_code == 200,
               "votes to learn the rooms")

    def mine() -> dict[str, Any]:
        listed = _ok(gateway.get("/api/v1/votes", params={"community_id": cid}, headers=owner))["items"]
        return next(v for v in listed if v["id"] == vote["id"])

    listed = eventually(lambda: len((v := mine())["my_rooms"]) == 2 and v, "votes to learn both bindings")
    assert sorted(r["my_status"] for r in listed["my_rooms"]) == ["not_voted", "not_voted"]
    home = _ok(gateway.get("/api/v1/me/home", params={"community_id": cid}, headers=owner))
    assert [v["id"] for v in home["votes_to_do"]] == [vote["id"]]

    item = vote["items"][0]["id"]
    body = {"answers": [{"item_id": item, "option_ids": ["agree"]}]}
    cast = _ok(gateway.post(f"/api/v1/votes/{vote['id']}/ballots/batch", json=body, headers=owner))
    assert sorted(r["outcome"] for r in cast["rooms"]) == ["cast", "cast"] and cast["counted"] == 2
    # A retry changes nothing; other choices for a vote without changes are refused per room.
    again = _ok(gateway.post(f"/api/v1/votes/{vote['id']}/ballots/batch", json=body, headers=owner))
    assert [r["outcome"] for r in again["rooms"]] == ["unchanged", "unchanged"]
    other = {"answers": [{"item_id": item, "option_ids": ["disagree"]}]}
    changed = _ok(gateway.post(f"/api/v1/votes/{vote['id']}/ballots/batch", json=other, headers=owner))
    assert [r["outcome"] for r in changed["rooms"]] == ["already_voted", "already_voted"]
    # A room that is not the caller's is answered clearly, not cast.
    partial = _ok(gateway.post(f"/api/v1/votes/{vote['id']}/ballots/batch",
                               json=body | {"room_ids": [world["rooms"]["1栋1单元101"], world["rooms"]["2栋201"]]},
                               headers=owner))
    assert [r["outcome"] for r in partial["rooms"]] == ["unchanged", "not_eligible"]
    assert mine()["my_status"] == "voted"
    assert _ok(gateway.get("/api/v1/me/home", params={"community_id": cid}, headers=owner))["votes_to_do"] == []
    _ok(gateway.post(f"/api/v1/votes/{vote['id']}/close", headers=manager))
    results = _ok(gateway.get(f"/api/v1/votes/{vote['id']}/results", headers=manager))
    assert results["ballots"] == 2
    # Someone with no room in the electorate has nothing to cast for.
    stranger = bearer(_wechat_login(stack, gateway)["token"])
    assert gateway.post(f"/api/v1/votes/{vote['id']}/ballots/batch", json=body,
                        headers=stranger).status_code == 404


# ------------------------------------------------------------------ 6: pictures and files


def test_notice_with_a_picture_and_a_pdf_reaches_the_owner_through_the_gateway(
    stack: Stack, gateway: httpx.Client
) -> None:
    world = _community(stack, gateway, "龙井小区", "杭州市")
    cid, manager = world["cid"], world["manager"]
    _single_manager(gateway, world)
    owner = _wechat_login(stack, gateway, phone="13900001111")
    _bind(gateway, bearer(owner["token"]), _rooms(gateway, cid, bearer(owner["token"]))["2栋201"])
    body = {"community_id": cid, "title": "电梯维保", "body": "详见附件", "category": "maintenance"}
    notice = _ok(gateway.post("/api/v1/notices", json=body, headers=manager), 201)
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    picture = _ok(gateway.post(f"/api/v1/notices/{notice['id']}/attachments", headers=manager,
                               files={"file": ("现场.png", png(), "image/png")}), 201)
    document = _ok(gateway.post(f"/api/v1/notices/{notice['id']}/attachments", headers=manager,
                                files={"file": ("维保计划.pdf", pdf, "application/pdf")}), 201)
    fake = gateway.post(f"/api/v1/notices/{notice['id']}/attachments", headers=manager,
                        files={"file": ("evil.pdf", b"<html><script>", "application/pdf")})
    assert fake.status_code == 400 and fake.json()["error"]["code"] == "unsupported_attachment"
    for action in ("submit", "approve", "publish"):
        _ok(gateway.post(f"/api/v1/notices/{notice['id']}/{action}", headers=manager))

    me = bearer(owner["token"])
    shown = eventually(lambda: (r := gateway.get(f"/api/v1/notices/{notice['id']}", headers=me)).status_code == 200
                       and r.json(), "notices to learn the owner's binding")
    assert [a["id"] for a in shown["attachments"]] == [picture["id"], document["id"]]
    served = gateway.get(shown["attachments"][1]["url"], headers=me)
    assert served.status_code == 200 and served.content == pdf
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert gateway.get(shown["attachments"][0]["url"], headers=me).headers["content-type"] == "image/png"
    stranger = bearer(_wechat_login(stack, gateway)["token"])
    assert gateway.get(shown["attachments"][1]["url"], headers=stranger).status_code == 404
