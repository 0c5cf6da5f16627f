"""The managers' journeys through the gateway over real processes (issue 15, items 8-11):
turnout tools for a vote (non-voters, a reminder that notices pushes, a paper ballot), resend
of a notice to the unread, the care list with a recorded reveal, and an activity with
sign-up, waitlist, check-in and export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from scripts.stack import Stack
from tests.e2e.seed import Seeded, bearer, eventually, png, seed_community

# The flows poll while events cross processes; rate limits have their own e2e test.
STACK_ENV = {"GATEWAY_RATE_ACCOUNT_PER_SECOND": "50", "GATEWAY_RATE_ACCOUNT_BURST": "200",
             "GATEWAY_RATE_IP_PER_SECOND": "50", "GATEWAY_RATE_IP_BURST": "200"}


@pytest.fixture(scope="module")
def seeded(stack: Stack) -> Seeded:
    with httpx.Client(base_url=stack.url("gateway"), timeout=10, trust_env=False,
                      headers={"X-Forwarded-For": "10.15.2.1"}) as gateway:
        return seed_community(stack, gateway)


def _h(seeded: Seeded, role: str) -> dict[str, str]:
    return bearer(seeded.tokens[role])


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content and "json" in response.headers.get("content-type", "") else response


def _error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert err["code"] == code and not err["message"].isascii(), err


def _published(gateway: httpx.Client, seeded: Seeded, **fields: Any) -> dict[str, Any]:
    """A notice of the seeded community, published (an emergency at once; else reviewed by
    the platform admin, since a manager may not approve their own)."""
    body = {"community_id": seeded.community_id, "title": "通知", "body": "正文", "category": "announcement"} | fields
    notice = _ok(gateway.post("/api/v1/notices", json=body, headers=_h(seeded, "manager")), 201)
    if body["category"] != "emergency":
        _ok(gateway.post(f"/api/v1/notices/{notice['id']}/submit", headers=_h(seeded, "manager")))
        _ok(gateway.post(f"/api/v1/notices/{notice['id']}/approve", headers=_h(seeded, "admin")))
    published: dict[str, Any] = _ok(gateway.post(f"/api/v1/notices/{notice['id']}/publish", headers=_h(seeded, "manager")))
    return published


def _inbox_kinds(gateway: httpx.Client, headers: dict[str, str]) -> list[str]:
    return [e["kind"] for e in gateway.get("/api/v1/inbox?limit=100", headers=headers).json()["items"]]


def test_turnout_tools_non_voters_reminder_and_paper_ballot(stack: Stack, gateway: httpx.Client, seeded: Seeded) -> None:
    manager, owner = _h(seeded, "manager"), _h(seeded, "owner")
    vote_id = seeded.ids["vote_id"]
    non_voters = _ok(gateway.get(f"/api/v1/votes/{vote_id}/non-voters", headers=manager))
    assert [r["label"] for r in non_voters["items"]] == ["1栋101", "1栋102"]
    assert non_voters["items"][1]["owners"] == [{"name": "王芳", "phone_masked": "139****1111"}]
    _error(gateway.get(f"/api/v1/votes/{vote_id}/non-voters", headers=owner), 404, "vote_not_found")

    # The reminder goes to the non-voters' owners through notices, once per window.
    reminded = _ok(gateway.post(f"/api/v1/votes/{vote_id}/reminders", headers=manager), 202)
    assert reminded["rooms"] == 2
    _error(gateway.post(f"/api/v1/votes/{vote_id}/reminders", headers=manager), 429, "reminder_too_soon")
    eventually(lambda: "vote_reminder" in _inbox_kinds(gateway, owner), "the reminder in the owner's inbox")
    assert "vote_reminder" not in _inbox_kinds(gateway, _h(seeded, "family"))

    vote = _ok(gateway.get(f"/api/v1/votes/{vote_id}", headers=owner))
    answers = [{"item_id": vote["items"][0]["id"], "option_ids": ["agree"]}]
    _ok(gateway.post(f"/api/v1/votes/{vote_id}/ballots", json={"room_id": seeded.ids["room_id"], "answers": answers},
                     headers=owner), 201)
    left = _ok(gateway.get(f"/api/v1/votes/{vote_id}/non-voters", headers=manager))["items"]
    assert [r["label"] for r in left] == ["1栋102"]

    # The paper ballot of 102, its photo through the upload pipeline, entered by the manager.
    photo = _ok(gateway.post("/api/v1/uploads", files={"file": ("ballot.png", png(), "image/png")}, headers=manager), 201)
    paper = {"room_id": left[0]["room_id"], "answers": answers, "signer": "王芳", "photo_id": photo["id"]}
    _error(gateway.post(f"/api/v1/votes/{vote_id}/paper-ballots", json=paper, headers=owner), 404, "vote_not_found")
    entered = _ok(gateway.post(f"/api/v1/votes/{vote_id}/paper-ballots", json=paper, headers=manager), 201)
    assert entered["source"] == "paper" and entered["photo_id"] == photo["id"]
    voted_online = paper | {"room_id": seeded.ids["room_id"]}
    _error(gateway.post(f"/api/v1/votes/{vote_id}/paper-ballots", json=voted_online, headers=manager), 409, "room_already_voted")
    _error(gateway.post(f"/api/v1/votes/{vote_id}/paper-ballots", json=paper, headers=manager), 409, "room_already_voted")

    _ok(gateway.post(f"/api/v1/votes/{vote_id}/close", headers=manager))
    results = _ok(gateway.get(f"/api/v1/votes/{vote_id}/results", headers=owner))
    assert results["ballots"] == 2 and results["ballots_by_source"] == {"online": 1, "paper": 1, "proxy": 0}
    export = gateway.get(f"/api/v1/votes/{vote_id}/ballots.csv", headers=manager)
    rows = list(csv.reader(io.StringIO(export.text.removeprefix("\ufeff"), newline="")))
    assert sorted(r[rows[0].index("方式")] for r in rows[1:]) == ["纸质", "线上"]


def test_resend_to_the_unread(stack: Stack, gateway: httpx.Client, seeded: Seeded) -> None:
    manager, owner = _h(seeded, "manager"), _h(seeded, "owner")
    notice = _published(gateway, seeded, title="电梯检修", body="本周六电梯检修")
    eventually(lambda: "notice_announcement" in _inbox_kinds(gateway, owner), "the notice in the inbox")
    # The family member reads it: the household has read it, nobody else is unread.
    _ok(gateway.get(f"/api/v1/notices/{notice['id']}", headers=_h(seeded, "family")))
    resent = _ok(gateway.post(f"/api/v1/notices/{notice['id']}/resend", headers=manager), 202)
    assert (resent["households"], resent["accounts"]) == (0, 0)
    _error(gateway.post(f"/api/v1/notices/{notice['id']}/resend", headers=manager), 429, "resend_too_soon")
    _error(gateway.post(f"/api/v1/notices/{notice['id']}/resend", headers=owner), 404, "notice_not_found")

    unread = _published(gateway, seeded, title="停电通知", body="明日停电")
    eventually(lambda: _inbox_kinds(gateway, owner).count("notice_announcement") == 2, "the second notice")
    resent = _ok(gateway.post(f"/api/v1/notices/{unread['id']}/resend", headers=manager), 202)
    assert (resent["households"], resent["accounts"]) == (1, 2)
    assert _inbox_kinds(gateway, owner).count("notice_announcement") == 3


def test_care_list_flags_first_and_records_each_reveal(stack: Stack, gateway: httpx.Client, seeded: Seeded) -> None:
    manager, crew, owner = _h(seeded, "manager"), _h(seeded, "crew"), _h(seeded, "owner")
    q = f"?community_id={seeded.community_id}"
    flag = {"categories": ["elderly", "living_alone"], "note": "独居老人", "contact_name": "李小明", "contact_phone": "13912345678"}
    flagged = _ok(gateway.put(f"/api/v1/care-list/{seeded.ids['room_id']}{q}", json=flag, headers=manager))
    assert flagged["contact_phone_masked"] == "139****5678"
    _error(gateway.put(f"/api/v1/care-list/{seeded.ids['room_id']}{q}", json=flag, headers=owner), 404, "community_not_found")
    listed = _ok(gateway.get(f"/api/v1/care-list{q}", headers=crew))
    assert "13912345678" not in str(listed) and listed["items"][0]["label"] == "1栋101"

    expires = (datetime.now(UTC) + timedelta(hours=6)).isoformat()
    notice = _published(gateway, seeded, category="emergency", title="燃气泄漏", body="请勿使用明火", expires_at=expires)
    receipts = _ok(gateway.get(f"/api/v1/notices/{notice['id']}/receipts", headers=manager))
    assert receipts["unread"][0]["label"] == "1栋101"
    assert receipts["unread"][0]["care_categories"] == ["elderly", "living_alone"]

    reveal = f"/api/v1/care-list/{seeded.ids['room_id']}/reveal{q}"
    _error(gateway.post(reveal, json={"reason": ""}, headers=crew), 422, "reveal_reason_required")
    shown = _ok(gateway.post(reveal, json={"reason": "燃气泄漏电话回访"}, headers=crew))
    assert shown["contact_phone"] == "13912345678"
    log = _ok(gateway.get(f"/api/v1/care-list/reveals{q}", headers=manager))["items"]
    assert [(r["reason"], r["room_label"]) for r in log] == [("燃气泄漏电话回访", "1栋101")]
    _error(gateway.get(f"/api/v1/care-list/reveals{q}", headers=crew), 404, "community_not_found")


def test_activity_sign_up_waitlist_check_in_and_export(stack: Stack, gateway: httpx.Client, seeded: Seeded) -> None:
    manager, owner, family = _h(seeded, "manager"), _h(seeded, "owner"), _h(seeded, "family")
    notice = _published(gateway, seeded, category="activity", title="社区义诊", body="周六上午社区义诊")
    starts = datetime.now(UTC) + timedelta(days=3)
    activity = _ok(gateway.post("/api/v1/activities", json={
        "notice_id": notice["id"], "location": "社区活动中心", "starts_at": starts.isoformat(),
        "signup_deadline": (starts - timedelta(days=1)).isoformat(), "capacity": 1, "per_household_limit": 2,
    }, headers=manager), 201)
    listed = _ok(gateway.get(f"/api/v1/activities?community_id={seeded.community_id}", headers=owner))
    assert [a["id"] for a in listed["items"]] == [activity["id"]]

    url = f"/api/v1/activities/{activity['id']}/signups"
    room = {"room_id": seeded.ids["room_id"]}
    mine = _ok(gateway.post(url, json=room, headers=owner), 201)
    assert mine["status"] == "confirmed"
    _error(gateway.post(url, json=room, headers=owner), 409, "already_signed_up")
    assert _ok(gateway.post(url, json=room, headers=family), 201)["status"] == "waitlisted"
    _error(gateway.post(url, json=room, headers=_h(seeded, "no_binding")), 404, "activity_not_found")

    cancelled = _ok(gateway.request("DELETE", f"{url}/mine", headers=owner))
    assert cancelled["moved_up"] == 1
    moved = _ok(gateway.get(f"/api/v1/activities/{activity['id']}", headers=family))["my_signup"]
    assert moved["status"] == "confirmed"
    checked = _ok(gateway.post(f"/api/v1/activities/{activity['id']}/check-ins", json={"code": moved["code"]},
                               headers=_h(seeded, "crew")))
    assert checked["checked_in_at"]
    export = gateway.get(f"{url}?format=csv", headers=manager)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert [line[3] for line in lines[1:]] == ["已确认", "已取消"]
