"""A small populated community behind a running stack, so a fuzzer's path parameters can hit
real objects: a roster, a manager and a crew member who log in with passwords, an owner whose
WeChat-verified phone verifies their room, a family member, a ticket, a vote, a notice, an
upload and an inbox entry; plus an account with no binding at all."""

from __future__ import annotations

import io
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from PIL import Image

from scripts.stack import Stack

ROSTER = (
    "楼栋,单元,房号,面积,状态,业主姓名,手机号\n"
    "1栋,,101,89.50,已交付,李明,13812341234\n"
    "1栋,,102,100.00,已交付,王芳,13900001111\n"
)


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def eventually(probe: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Polls until `probe` returns something truthy: events cross processes asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


# Access tokens live 15 minutes; a long run renews them well before.
RENEW_AFTER_SECONDS = float(os.environ.get("FUZZ_RENEW_SECONDS", "600"))


@dataclass
class Seeded:
    """Tokens by role and the ids of one community's objects, by path-parameter name."""

    community_id: str
    admin_id: str
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    minted_at: float = field(default_factory=time.monotonic)

    def renew_if_old(self, stack: Stack, gateway: httpx.Client, stale: set[str] | None = None) -> None:
        """Fresh access tokens for every role once the current ones near their expiry, and
        at once for the `stale` roles (answered 401 `roles_changed`, as a client refreshes
        then: the fuzzer demotes and re-adds staff). An account the fuzzer deleted keeps its
        old token: its answers stay 401."""
        if time.monotonic() - self.minted_at >= RENEW_AFTER_SECONDS:
            self.tokens["admin"] = stack.issue_token(self.admin_id, platform_admin=True)
            stale = set(self.refresh_tokens)
            self.minted_at = time.monotonic()
        for role in sorted(stale or ()):
            if role not in self.refresh_tokens:
                continue
            pair = gateway.post("/api/v1/auth/refresh", json={"refresh_token": self.refresh_tokens[role]})
            if pair.status_code == 200:
                self.tokens[role] = pair.json()["access_token"]
                self.refresh_tokens[role] = pair.json()["refresh_token"]
        if stale is not None:
            stale.clear()


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def _wechat_login(stack: Stack, gateway: httpx.Client, phone: str | None = None) -> dict[str, str]:
    """A WeChat account through the stand-in, with `phone` verified by getPhoneNumber."""
    with httpx.Client(base_url=stack.url("wechat"), trust_env=False) as wechat:
        code = wechat.post("/_standin/login-codes", json={"openid": f"o-{uuid.uuid4().hex[:12]}"})
        login = _ok(gateway.post("/api/v1/auth/wechat-login", json={"code": code.json()["code"]}))
        headers = bearer(login["access_token"])
        if phone is not None:
            phone_code = wechat.post("/_standin/phone-codes", json={"phone": phone}).json()["code"]
            _ok(gateway.post("/api/v1/me/phone", json={"code": phone_code}, headers=headers))
    return {"token": login["access_token"], "refresh": login["refresh_token"], "account_id": login["account"]["id"]}


def _staff(gateway: httpx.Client, admin: dict[str, str], cid: str, role: str, department: str | None) -> dict[str, str]:
    username = f"{role}{uuid.uuid4().hex[:8]}"
    body = {"username": username, "password": "fuzz-pass-123", "name": "张师傅", "phone": "13700000000",
            "role": role, "department": department}
    staff = _ok(gateway.post(f"/api/v1/communities/{cid}/staff", json=body, headers=admin), 201)
    login = _ok(gateway.post("/api/v1/auth/staff-login", json={"username": username, "password": "fuzz-pass-123"}))
    return {"token": login["access_token"], "refresh": login["refresh_token"], "account_id": login["account"]["id"],
            "staff_id": staff["id"]}


def seed_community(stack: Stack, gateway: httpx.Client) -> Seeded:
    admin_id = f"admin-{uuid.uuid4().hex[:8]}"
    admin_token = stack.issue_token(admin_id, platform_admin=True)
    admin = bearer(admin_token)
    cid = _ok(gateway.post("/api/v1/communities", json={"name": "模糊测试小区"}, headers=admin), 201)["id"]
    roster = {"file": ("roster.csv", ROSTER.encode("gbk"), "text/csv")}
    _ok(gateway.post(f"/api/v1/communities/{cid}/roster", files=roster, headers=admin))
    manager = _staff(gateway, admin, cid, "manager", None)
    crew = _staff(gateway, admin, cid, "crew", "repair")
    seeded = Seeded(community_id=cid, admin_id=admin_id)

    owner = _wechat_login(stack, gateway, phone="13812341234")
    tree = _ok(gateway.get(f"/api/v1/communities/{cid}/buildings", headers=bearer(owner["token"])))
    room = next(r["id"] for b in tree["buildings"] for u in b["units"] for r in u["rooms"] if r["room_no"] == "101")
    binding = _ok(gateway.post(
        "/api/v1/me/bindings",
        json={"room_id": room, "relation": "owner", "name": "李明", "phone": "13812341234"},
        headers=bearer(owner["token"]),
    ), 201)
    assert binding["status"] == "verified", binding
    invite = _ok(gateway.post(
        f"/api/v1/me/bindings/{binding['id']}/invitations", json={"relation": "family"},
        headers=bearer(owner["token"]),
    ), 201)
    family = _wechat_login(stack, gateway)
    member = _ok(gateway.post(
        "/api/v1/me/bindings/accept-invitation",
        json={"invite_code": invite["invite_code"], "name": "李小明", "phone": "13812340000"},
        headers=bearer(family["token"]),
    ), 201)
    nobody = _wechat_login(stack, gateway)

    owner_h = bearer(owner["token"])
    # Uploads, like reports, wait for repairs to hear of the binding by webhook.
    upload = eventually(
        lambda: (r := gateway.post("/api/v1/uploads", files={"file": ("a.png", png(), "image/png")},
                                   headers=owner_h)).status_code == 201 and r.json(),
        "repairs to learn the owner's binding before an upload",
    )
    report = {"community_id": cid, "kind": "repair", "category": "water", "room_id": room,
              "description": "厨房水管漏水", "contact_phone": "13812341234", "photo_ids": [upload["id"]]}
    ticket = eventually(
        lambda: (r := gateway.post("/api/v1/repairs", json=report, headers=owner_h)).status_code == 201 and r.json(),
        "repairs to learn the owner's binding",
    )
    manager_h = bearer(manager["token"])
    _ok(gateway.post(f"/api/v1/repairs/{ticket['id']}/transitions", json={"action": "accept"}, headers=manager_h))
    closes = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    vote = _ok(gateway.post("/api/v1/votes", json={
        "community_id": cid, "kind": "vote", "title": "更换电梯", "closes_at": closes,
        "motions": [{"title": "使用维修资金更换电梯", "matter": "major"}],
    }, headers=manager_h), 201)
    eventually(lambda: gateway.post(f"/api/v1/votes/{vote['id']}/open", headers=manager_h).status_code == 200,
               "votes to learn the rooms")
    notice = _ok(gateway.post("/api/v1/notices", json={
        "community_id": cid, "title": "停水通知", "body": "明日 9:00-12:00 停水", "category": "maintenance",
    }, headers=manager_h), 201)
    entry = eventually(lambda: gateway.get("/api/v1/inbox", headers=owner_h).json().get("items"),
                       "an inbox entry for the owner")[0]

    # Fees: a month of bills once billing has heard of the rooms, one of them paid at the desk.
    _ok(gateway.post(f"/api/v1/communities/{cid}/fees/items", json={
        "code": "wuye", "name": "物业费", "kind": "per_area", "rate_fen": 235, "effective_from": "2026-01",
    }, headers=manager_h), 201)
    for period in ("2026-11", "2026-12"):
        eventually(lambda p=period: gateway.post(f"/api/v1/communities/{cid}/fees/bills/generate", json={"period": p},
                                                 headers=manager_h).json().get("created"), "billing to learn the rooms")
    bills = eventually(lambda: [b for r in gateway.get("/api/v1/me/bills", headers=owner_h).json()["rooms"]
                                for b in r["bills"]], "billing to learn the owner's binding")
    paid = _ok(gateway.post(f"/api/v1/communities/{cid}/fees/offline-payments", json={
        "bill_ids": [bills[0]["id"]], "channel": "cash", "offline_ref": "NO.1"}, headers=manager_h), 201)

    people = {"manager": manager, "crew": crew, "owner": owner, "family": family, "no_binding": nobody}
    seeded.tokens = {"admin": admin_token} | {role: p["token"] for role, p in people.items()}
    seeded.refresh_tokens = {role: p["refresh"] for role, p in people.items()}
    seeded.ids = {
        "cid": cid, "community_id": cid, "room_id": room, "binding_id": binding["id"], "member_id": member["id"],
        "staff_id": crew["staff_id"], "ticket_id": ticket["id"], "vote_id": vote["id"],
        "notice_id": notice["id"], "upload_id": upload["id"], "entry_id": entry["id"],
        "bill_id": bills[1]["id"], "payment_id": paid["id"],
    }
    return seeded
