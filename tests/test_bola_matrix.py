"""The BOLA matrix: every route of every service × every role held in ANOTHER community (its
owner, family member, tenant, repair crew, customer-service staff, manager; and an account
with no binding at all) × the home community's objects. A route that reaches a foreign object
answers 403 or 404, never 2xx, never 5xx.

The routes come from the apps' route tables (each app's OpenAPI, which lists every route but
the internal ones, plus the event machinery's `/admin/events` router that the gateway also
forwards), and `MATRIX` says, for each, how to build its foreign-object request. A route
missing from `MATRIX` fails the test, so a new route cannot ship without a row.

The apps run in process with their real lifespans; identity's and repairs' outbox events are
handed to the other services' own handlers, as the webhooks would (tests/common/identity_replica/factories.py).
The internal routes (`/events`, `/internal/...`, health) are not in the matrix: the gateway
never forwards them and they take webhook signatures, not bearer tokens."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.events.admin import router as admin_events_router
from tests.common.identity_replica import factories as ie
from tests.identity.factories import login, outbox, room_id, roster, verify_phone
from tests.identity.wechat_fake import WeChatForTests, install
from tests.notices.factories import notices_app
from tests.repairs.factories import image_bytes, repairs_app
from tests.support import SERVICES, admin_token, auth, client_for, running_app, settings_for

FOREIGN_ROLES = ("owner", "family", "tenant", "crew", "customer_service", "manager", "no_binding")

# ---------------------------------------------------------------------------------------------
# The table. `Req` is one request; a row builds the requests that aim at the home community's
# objects (`ids`) from the caller's own world (`mine`: the caller's own community and binding,
# for requests that mix the caller's ids with a foreign one).
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    json: Any = None
    params: dict[str, str] | None = None
    files: dict[str, Any] | None = None


Ids = dict[str, str]
Build = Callable[[Ids, Ids], list[Req]]


@dataclass(frozen=True)
class Row:
    """`foreign`: must answer 403/404. `filtered`: a list filtered to what the caller may see,
    so it may answer 200, but with none of the home community's ids in it (and the home
    community's own `control` caller does see `shows` in the same request, so the check is not
    empty). `exempt`: the route reaches no other community's object by construction (the
    caller's own account, a credential in the body, or a read every logged-in account needs);
    `why` says which, and it is not sent."""

    build: Build | None = None
    exempt: str | None = None
    shows: str | None = None
    control: str = "manager"


def foreign(build: Build) -> Row:
    return Row(build=build)


def filtered(build: Build, shows: str, control: str = "manager") -> Row:
    return Row(build=build, shows=shows, control=control)


def exempt(why: str) -> Row:
    return Row(exempt=why)


def one(method: str, path: str, **kw: Any) -> Build:
    """A single request whose `{name}`s are the home community's ids."""
    return lambda ids, mine: [Req(method, path.format(**ids), **{k: _fill(v, ids) for k, v in kw.items()})]


def _fill(value: Any, ids: Ids) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _vote_body(cid: str) -> dict[str, Any]:
    closes = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    return {"community_id": cid, "kind": "vote", "title": "更换电梯", "closes_at": closes,
            "motions": [{"title": "更换电梯", "matter": "major"}]}


NOTICE = {"community_id": "{cid}", "title": "停水通知", "body": "明日停水", "category": "maintenance"}
CARE_FLAG = {"categories": ["elderly"], "contact_name": "越权", "contact_phone": "13800000000"}
TICKET = {"community_id": "{cid}", "kind": "repair", "category": "water", "room_id": "{room_id}",
          "description": "厨房水管漏水", "contact_phone": "13812341234", "photo_ids": []}
ROSTER_FILE = {"file": ("roster.csv", roster([["9", "", "901", "90.00", "delivered", "赵六", "13600009999", ""]]), "text/csv")}
PDF_FILE = b"%PDF-1.4\n%%EOF\n"
STAFF = {"username": "bola.crew", "password": "bola-pass-123", "name": "赵师傅", "phone": "13600000009",
         "role": "crew", "department": "repair"}

MATRIX: dict[tuple[str, str, str], Row] = {
    # identity
    ("identity", "POST", "/auth/refresh"): exempt("no bearer token: the refresh token in the body is the credential"),
    ("identity", "POST", "/auth/staff-login"): exempt("no bearer token: username and password are the credential"),
    ("identity", "POST", "/auth/wechat-login"): exempt("no bearer token: WeChat's login code is the credential"),
    ("identity", "POST", "/bindings/{binding_id}/approve"): foreign(one("POST", "/bindings/{pending_binding_id}/approve")),
    ("identity", "POST", "/bindings/{binding_id}/reject"): foreign(
        one("POST", "/bindings/{pending_binding_id}/reject", json={"reason": "信息不符"})),
    ("identity", "POST", "/bindings/{binding_id}/revoke"): foreign(
        one("POST", "/bindings/{binding_id}/revoke", json={"reason": "已搬离"})),
    ("identity", "POST", "/communities"): foreign(one("POST", "/communities", json={"name": "越权小区"})),
    ("identity", "GET", "/communities"): exempt(
        "the picker before binding: every community's name, nothing else (identity/community_routes.py)"),
    ("identity", "GET", "/communities/{cid}"): foreign(one("GET", "/communities/{cid}")),
    ("identity", "GET", "/communities/{cid}/bindings"): foreign(one("GET", "/communities/{cid}/bindings")),
    ("identity", "GET", "/communities/{cid}/buildings"): exempt(
        "the building tree (rooms, no people) is what any account reads to ask for a binding"),
    ("identity", "GET", "/communities/{cid}/buildings/{building_id}"): exempt(
        "the room picker's second step: room labels and areas only, which every account binding a room needs"),
    ("identity", "POST", "/communities/{cid}/scenes"): foreign(one("POST", "/communities/{cid}/scenes", json={})),
    ("identity", "GET", "/communities/{cid}/scenes"): foreign(one("GET", "/communities/{cid}/scenes")),
    ("identity", "PUT", "/communities/{cid}/contact-card"): foreign(
        one("PUT", "/communities/{cid}/contact-card", json={"service_phone": "0571-88886666"})),
    ("identity", "GET", "/communities/{cid}/contact-card"): foreign(one("GET", "/communities/{cid}/contact-card")),
    ("identity", "GET", "/scenes/{scene}"): exempt(
        "no login by design: the printed QR code's random scene is the key; it shows the community's name, city "
        "and the numbers on its notice board, nothing personal"),
    ("identity", "GET", "/communities/{cid}/cleanup-report"): foreign(one("GET", "/communities/{cid}/cleanup-report")),
    ("identity", "POST", "/communities/{cid}/roster"): foreign(
        one("POST", "/communities/{cid}/roster", files=ROSTER_FILE)),
    ("identity", "POST", "/communities/{cid}/staff"): foreign(one("POST", "/communities/{cid}/staff", json=STAFF)),
    ("identity", "GET", "/communities/{cid}/staff"): foreign(one("GET", "/communities/{cid}/staff")),
    ("identity", "POST", "/communities/{cid}/staff/{staff_id}/password-reset"): foreign(lambda ids, mine: [
        Req("POST", f"/communities/{ids['cid']}/staff/{ids['staff_id']}/password-reset"),
        # The caller's own community in the path, the home community's staff member in the id.
        Req("POST", f"/communities/{mine['cid']}/staff/{ids['staff_id']}/password-reset"),
    ]),
    ("identity", "DELETE", "/communities/{cid}/staff/{staff_id}"): foreign(lambda ids, mine: [
        Req("DELETE", f"/communities/{ids['cid']}/staff/{ids['staff_id']}"),
        # The caller's own community in the path, the home community's staff member in the id.
        Req("DELETE", f"/communities/{mine['cid']}/staff/{ids['staff_id']}"),
    ]),
    ("identity", "GET", "/me"): exempt("the caller's own account"),
    ("identity", "DELETE", "/me/wechat"): exempt("the caller's own account's WeChat link"),
    ("identity", "POST", "/me/password"): exempt("the caller's own password, with the current one"),
    ("identity", "DELETE", "/me"): exempt("the caller's own account (and it would end the caller)"),
    ("identity", "POST", "/me/bindings"): exempt(
        "any account may ask to bind any room; it stays pending until WeChat's phone or a manager verifies it"),
    ("identity", "POST", "/me/bindings/accept-invitation"): exempt("the invitation code in the body is the credential"),
    ("identity", "DELETE", "/me/bindings/{binding_id}"): foreign(one("DELETE", "/me/bindings/{binding_id}")),
    ("identity", "POST", "/me/bindings/{binding_id}/invitations"): foreign(
        one("POST", "/me/bindings/{binding_id}/invitations", json={"relation": "family"})),
    ("identity", "GET", "/me/bindings/{binding_id}/members"): foreign(one("GET", "/me/bindings/{binding_id}/members")),
    ("identity", "DELETE", "/me/bindings/{binding_id}/members/{member_id}"): foreign(lambda ids, mine: [
        Req("DELETE", f"/me/bindings/{ids['binding_id']}/members/{ids['member_id']}"),
        # The caller's own binding in the path, the home community's member in the id.
        Req("DELETE", f"/me/bindings/{mine['binding_id']}/members/{ids['member_id']}"),
    ]),
    ("identity", "POST", "/me/phone"): exempt("the caller's own account; WeChat's phone code is the credential"),
    # repairs
    ("repairs", "GET", "/communities/{cid}/repairs/config"): foreign(one("GET", "/communities/{cid}/repairs/config")),
    ("repairs", "PUT", "/communities/{cid}/repairs/config"): foreign(
        one("PUT", "/communities/{cid}/repairs/config", json={})),
    ("repairs", "GET", "/communities/{cid}/repairs/stats"): foreign(one("GET", "/communities/{cid}/repairs/stats")),
    ("repairs", "POST", "/repairs"): foreign(lambda ids, mine: [
        Req("POST", "/repairs", json=_fill(TICKET, ids)),
        # 代客报修 for the home community's room, naming its owner.
        Req("POST", "/repairs", json=_fill(TICKET, ids) | {"on_behalf": True, "reporter_id": ids["owner_id"]}),
    ]),
    ("repairs", "POST", "/repairs/{ticket_id}/claim"): foreign(one("POST", "/repairs/{pooled_ticket_id}/claim")),
    ("repairs", "GET", "/repairs/{ticket_id}/comments"): foreign(one("GET", "/repairs/{ticket_id}/comments")),
    ("repairs", "POST", "/repairs/{ticket_id}/comments"): foreign(lambda ids, mine: [
        Req("POST", f"/repairs/{ids['ticket_id']}/comments", json={"text": "越权留言", "internal": internal})
        for internal in (False, True)
    ]),
    ("repairs", "GET", "/communities/{cid}/repairs/staff"): foreign(one("GET", "/communities/{cid}/repairs/staff")),
    ("repairs", "GET", "/communities/{cid}/repairs/assignment-rules"): foreign(
        one("GET", "/communities/{cid}/repairs/assignment-rules")),
    ("repairs", "PUT", "/communities/{cid}/repairs/assignment-rules"): foreign(
        one("PUT", "/communities/{cid}/repairs/assignment-rules", json={"rules": []})),
    ("repairs", "GET", "/communities/{cid}/repairs/stats/crew"): foreign(
        one("GET", "/communities/{cid}/repairs/stats/crew")),
    ("repairs", "GET", "/repairs"): filtered(one("GET", "/repairs", params={"community_id": "{cid}"}), "ticket_id"),
    ("repairs", "GET", "/repairs/{ticket_id}"): foreign(one("GET", "/repairs/{ticket_id}")),
    ("repairs", "POST", "/repairs/{ticket_id}/transitions"): foreign(lambda ids, mine: [
        Req("POST", f"/repairs/{ids['ticket_id']}/transitions", json={"action": action})
        for action in ("cancel", "assign", "start", "resolve", "confirm", "reject")
    ]),
    ("repairs", "POST", "/uploads"): exempt("creates the caller's own upload; nothing of another community"),
    ("repairs", "GET", "/uploads/{upload_id}"): foreign(one("GET", "/uploads/{upload_id}")),
    # votes
    ("votes", "POST", "/votes"): foreign(lambda ids, mine: [Req("POST", "/votes", json=_vote_body(ids["cid"]))]),
    ("votes", "GET", "/votes"): filtered(one("GET", "/votes", params={"community_id": "{cid}"}), "vote_id"),
    ("votes", "GET", "/votes/settings/{community_id}"): foreign(one("GET", "/votes/settings/{cid}")),
    ("votes", "PUT", "/votes/settings/{community_id}"): foreign(
        one("PUT", "/votes/settings/{cid}", json={"multi_room_headcount": "unanimous", "non_voters_follow_majority": True})),
    ("votes", "GET", "/votes/{vote_id}"): foreign(one("GET", "/votes/{vote_id}")),
    ("votes", "PATCH", "/votes/{vote_id}"): foreign(one("PATCH", "/votes/{vote_id}", json={"title": "越权修改"})),
    ("votes", "POST", "/votes/{vote_id}/ballots"): foreign(one(
        "POST", "/votes/{vote_id}/ballots",
        json={"room_id": "{room_id}", "answers": [{"item_id": "{vote_item_id}", "option_ids": ["agree"]}]})),
    ("votes", "POST", "/votes/{vote_id}/ballots/batch"): foreign(one(
        "POST", "/votes/{vote_id}/ballots/batch",
        json={"answers": [{"item_id": "{vote_item_id}", "option_ids": ["agree"]}]})),
    ("votes", "GET", "/votes/{vote_id}/ballots.csv"): foreign(one("GET", "/votes/{vote_id}/ballots.csv")),
    ("votes", "POST", "/votes/{vote_id}/close"): foreign(one("POST", "/votes/{vote_id}/close")),
    ("votes", "POST", "/votes/{vote_id}/open"): foreign(one("POST", "/votes/{draft_vote_id}/open")),
    ("votes", "GET", "/votes/{vote_id}/results"): foreign(one("GET", "/votes/{vote_id}/results")),
    ("votes", "GET", "/votes/{vote_id}/results/rooms"): foreign(one("GET", "/votes/{vote_id}/results/rooms")),
    ("votes", "GET", "/votes/{vote_id}/non-voters"): foreign(one("GET", "/votes/{vote_id}/non-voters")),
    ("votes", "POST", "/votes/{vote_id}/reminders"): foreign(one("POST", "/votes/{vote_id}/reminders")),
    ("votes", "POST", "/votes/{vote_id}/paper-ballots"): foreign(one(
        "POST", "/votes/{vote_id}/paper-ballots",
        json={"room_id": "{room_id}", "answers": [{"item_id": "{vote_item_id}", "option_ids": ["agree"]}],
              "signer": "越权", "photo_id": "p"})),
    # notices
    ("notices", "GET", "/inbox"): exempt("the caller's own inbox (checked below: none of the home ids leak)"),
    ("notices", "GET", "/inbox/unread-count"): exempt("the caller's own inbox"),
    ("notices", "POST", "/inbox/read-all"): exempt("the caller's own inbox"),
    ("notices", "POST", "/inbox/{entry_id}/read"): foreign(one("POST", "/inbox/{entry_id}/read")),
    ("notices", "GET", "/me/subscriptions"): exempt("the caller's own consents"),
    ("notices", "POST", "/me/subscriptions"): exempt("the caller's own consents"),
    ("notices", "POST", "/notices"): foreign(one("POST", "/notices", json=NOTICE)),
    ("notices", "GET", "/notices"): filtered(lambda ids, mine: [
        Req("GET", "/notices", params={"community_id": ids["cid"], "view": view}) for view in ("feed", "manage")
    ], "notice_id"),
    ("notices", "PUT", "/notices/settings"): foreign(
        one("PUT", "/notices/settings", params={"community_id": "{cid}"}, json={"single_manager": True})),
    ("notices", "GET", "/notices/{notice_id}"): foreign(one("GET", "/notices/{notice_id}")),
    ("notices", "POST", "/notices/{notice_id}/attachments"): foreign(
        one("POST", "/notices/{notice_id}/attachments", files={"file": ("a.pdf", PDF_FILE, "application/pdf")})),
    ("notices", "GET", "/notices/{notice_id}/attachments/{attachment_id}"): foreign(
        one("GET", "/notices/{notice_id}/attachments/{attachment_id}")),
    ("notices", "DELETE", "/notices/{notice_id}/attachments/{attachment_id}"): foreign(
        one("DELETE", "/notices/{notice_id}/attachments/{attachment_id}")),
    ("notices", "GET", "/notices/{notice_id}/receipts"): foreign(lambda ids, mine: [
        Req("GET", f"/notices/{ids['notice_id']}/receipts", params={"format": fmt}) for fmt in ("json", "csv")
    ]),
    ("notices", "POST", "/notices/{notice_id}/resend"): foreign(one("POST", "/notices/{notice_id}/resend")),
    ("notices", "GET", "/care-list"): foreign(one("GET", "/care-list", params={"community_id": "{cid}"})),
    ("notices", "GET", "/care-list/reveals"): foreign(one("GET", "/care-list/reveals", params={"community_id": "{cid}"})),
    ("notices", "PUT", "/care-list/{room_id}"): foreign(lambda ids, mine: [
        Req("PUT", f"/care-list/{ids['room_id']}", params={"community_id": cid}, json=CARE_FLAG)
        for cid in (ids["cid"], mine["cid"])
    ]),
    ("notices", "DELETE", "/care-list/{room_id}"): foreign(lambda ids, mine: [
        Req("DELETE", f"/care-list/{ids['room_id']}", params={"community_id": cid}) for cid in (ids["cid"], mine["cid"])
    ]),
    ("notices", "POST", "/care-list/{room_id}/reveal"): foreign(lambda ids, mine: [
        Req("POST", f"/care-list/{ids['room_id']}/reveal", params={"community_id": cid}, json={"reason": "越权查看"})
        for cid in (ids["cid"], mine["cid"])
    ]),
    ("notices", "POST", "/activities"): foreign(one(
        "POST", "/activities", json={"notice_id": "{activity_id}", "location": "活动中心", "capacity": 5,
                                     "starts_at": "2099-01-02T00:00:00Z", "signup_deadline": "2099-01-01T00:00:00Z"})),
    ("notices", "GET", "/activities"): filtered(one("GET", "/activities", params={"community_id": "{cid}"}), "activity_id"),
    ("notices", "GET", "/activities/{activity_id}"): foreign(one("GET", "/activities/{activity_id}")),
    ("notices", "POST", "/activities/{activity_id}/signups"): foreign(lambda ids, mine: [
        Req("POST", f"/activities/{ids['activity_id']}/signups", json={"room_id": room})
        for room in (ids["room_id"], mine.get("room_id", ids["room_id"]))
    ]),
    ("notices", "DELETE", "/activities/{activity_id}/signups/mine"): foreign(
        one("DELETE", "/activities/{activity_id}/signups/mine")),
    ("notices", "GET", "/activities/{activity_id}/signups"): foreign(lambda ids, mine: [
        Req("GET", f"/activities/{ids['activity_id']}/signups", params={"format": fmt}) for fmt in ("json", "csv")
    ]),
    ("notices", "POST", "/activities/{activity_id}/check-ins"): foreign(
        one("POST", "/activities/{activity_id}/check-ins", json={"signup_id": "{activity_signup_id}"})),
    ("notices", "POST", "/notices/{notice_id}/{action}"): foreign(lambda ids, mine: [
        Req("POST", f"/notices/{ids['notice_id']}/{action}") for action in ("submit", "approve", "publish", "withdraw")
    ]),
    # billing
    ("billing", "GET", "/me/bills"): exempt("the caller's own rooms' bills (checked below: none of the home ids leak)"),
    ("billing", "GET", "/bills/{bill_id}"): foreign(one("GET", "/bills/{bill_id}")),
    ("billing", "POST", "/bills/{bill_id}/adjustments"): foreign(
        one("POST", "/bills/{unpaid_bill_id}/adjustments", json={"amount_fen": -100, "reason": "越权减免"})),
    ("billing", "POST", "/bills/{bill_id}/waive"): foreign(one("POST", "/bills/{unpaid_bill_id}/waive", json={"reason": "越权"})),
    ("billing", "POST", "/bills/{bill_id}/refund"): foreign(one("POST", "/bills/{bill_id}/refund", json={"reason": "越权"})),
    ("billing", "POST", "/payments"): foreign(one("POST", "/payments", json={"bill_ids": ["{unpaid_bill_id}"]})),
    ("billing", "GET", "/payments/{payment_id}"): foreign(one("GET", "/payments/{payment_id}")),
    ("billing", "GET", "/payments/{payment_id}/receipt"): foreign(one("GET", "/payments/{payment_id}/receipt")),
    ("billing", "GET", "/payments/{payment_id}/receipt.html"): foreign(one("GET", "/payments/{payment_id}/receipt.html")),
    ("billing", "POST", "/communities/{community_id}/fees/items"): foreign(one(
        "POST", "/communities/{cid}/fees/items",
        json={"code": "x", "name": "越权", "kind": "fixed", "rate_fen": 1, "effective_from": "2026-01"})),
    ("billing", "GET", "/communities/{community_id}/fees/items"): foreign(one("GET", "/communities/{cid}/fees/items")),
    ("billing", "POST", "/communities/{community_id}/fees/bills/generate"): foreign(
        one("POST", "/communities/{cid}/fees/bills/generate", json={"period": "2027-01"})),
    ("billing", "GET", "/communities/{community_id}/fees/bills"): foreign(one("GET", "/communities/{cid}/fees/bills")),
    ("billing", "POST", "/communities/{community_id}/fees/offline-payments"): foreign(lambda ids, mine: [
        Req("POST", f"/communities/{ids['cid']}/fees/offline-payments",
            json={"bill_ids": [ids["unpaid_bill_id"]], "channel": "cash", "offline_ref": "越权"}),
        # The caller's own community in the path, the home community's bill in the body.
        Req("POST", f"/communities/{mine['cid']}/fees/offline-payments",
            json={"bill_ids": [ids["unpaid_bill_id"]], "channel": "cash", "offline_ref": "越权"}),
    ]),
    ("billing", "GET", "/communities/{community_id}/fees/arrears"): foreign(one("GET", "/communities/{cid}/fees/arrears")),
    ("billing", "GET", "/communities/{community_id}/fees/collection-rate"): foreign(
        one("GET", "/communities/{cid}/fees/collection-rate")),
    ("billing", "POST", "/communities/{community_id}/fees/reminders"): foreign(
        one("POST", "/communities/{cid}/fees/reminders", json={})),
    ("billing", "GET", "/communities/{community_id}/fees/exports/bills.csv"): foreign(
        one("GET", "/communities/{cid}/fees/exports/bills.csv", params={"period": "2026-12"})),
    ("billing", "GET", "/communities/{community_id}/fees/exports/payments.csv"): foreign(
        one("GET", "/communities/{cid}/fees/exports/payments.csv", params={"from": "2026-01-01", "to": "2030-01-01"})),
    ("billing", "GET", "/communities/{community_id}/fees/exports/refunds.csv"): foreign(
        one("GET", "/communities/{cid}/fees/exports/refunds.csv", params={"from": "2026-01-01", "to": "2030-01-01"})),
    ("billing", "GET", "/communities/{community_id}/fees/reconciliation"): foreign(
        one("GET", "/communities/{cid}/fees/reconciliation", params={"date": "2026-12-01"})),
}

# The operators' API of the event machinery, on every service (platform admins only).
ADMIN_EVENTS: dict[tuple[str, str], Build] = {
    ("GET", "/admin/events/summary"): one("GET", "/admin/events/summary"),
    ("GET", "/admin/events/deliveries"): one("GET", "/admin/events/deliveries"),
    ("GET", "/admin/events/deliveries/{delivery_id}"): one("GET", "/admin/events/deliveries/1"),
    ("POST", "/admin/events/deliveries/{delivery_id}/redeliver"): one("POST", "/admin/events/deliveries/1/redeliver"),
    ("POST", "/admin/events/redeliver"): one("POST", "/admin/events/redeliver", params={"status": "dead"}),
}
for _service in SERVICES:
    for (_method, _path), _build in ADMIN_EVENTS.items():
        MATRIX[(_service, _method, _path)] = foreign(_build)


def fresh_apps() -> dict[str, Any]:
    """Each service's app as the code builds it (no lifespan: only its routes are read)."""
    return {
        service: importlib.import_module(f"services.{service}.app").create_app(settings_for(service, "sqlite+aiosqlite://"))
        for service in SERVICES
    }


def route_table(apps: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(service, method, path) of every public route of every app."""
    routes = set()
    for service, app in apps.items():
        for path, item in app.openapi()["paths"].items():
            routes |= {(service, method.upper(), path) for method in item if method != "parameters"}
        for route in admin_events_router.routes:
            routes |= {(service, method, route.path) for method in getattr(route, "methods", ())}
    return routes


def unmatched(routes: set[tuple[str, str, str]]) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(routes without a row, rows without a route)."""
    return sorted(routes - MATRIX.keys()), sorted(MATRIX.keys() - routes)


# ---------------------------------------------------------------------------------------------
# Two communities: home (whose objects are aimed at) and foreign (whose people aim).
# ---------------------------------------------------------------------------------------------


@dataclass
class World:
    clients: dict[str, httpx.AsyncClient]
    home: Ids
    callers: dict[str, tuple[str, Ids]]  # role → (token, the caller's own ids)
    home_callers: dict[str, str]  # role → token, in the home community


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return dict(response.json())


async def _staff(c: httpx.AsyncClient, cid: str, role: str, department: str | None) -> tuple[str, str]:
    """A staff member added by the platform admin, logged in: (token, staff id)."""
    username = f"{role}.{uuid.uuid4().hex[:8]}"
    body = {"username": username, "password": "bola-pass-123", "name": "钱师傅", "phone": "13600000001",
            "role": role, "department": department}
    staff = await _ok(await c.post(f"/communities/{cid}/staff", json=body, headers=auth(admin_token())), 201)
    login_ = await _ok(await c.post("/auth/staff-login", json={"username": username, "password": "bola-pass-123"}))
    return login_["access_token"], staff["id"]


async def _household(c: httpx.AsyncClient, fake: WeChatForTests, cid: str, name: str, phone: str) -> dict[str, Any]:
    """An owner verified by WeChat's phone, and a family member and a tenant they invited."""
    owner = await login(c, fake, f"o-{uuid.uuid4().hex[:10]}")
    tok = owner["access_token"]
    await verify_phone(c, fake, tok, phone)
    rid = await room_id(c, cid, "1栋101", tok)
    bound = await _ok(await c.post(
        "/me/bindings", json={"room_id": rid, "relation": "owner", "name": name, "phone": phone}, headers=auth(tok)
    ), 201)
    assert bound["status"] == "verified", bound
    people: dict[str, Any] = {"owner": (tok, bound["id"]), "room_id": rid}
    for relation, member_name in (("family", "孙小红"), ("tenant", "周租客")):
        invite = await _ok(await c.post(
            f"/me/bindings/{bound['id']}/invitations", json={"relation": relation}, headers=auth(tok)
        ), 201)
        member = await login(c, fake, f"o-{uuid.uuid4().hex[:10]}")
        joined = await _ok(await c.post(
            "/me/bindings/accept-invitation",
            json={"invite_code": invite["invite_code"], "name": member_name, "phone": "13500000000"},
            headers=auth(member["access_token"]),
        ), 201)
        people[relation] = (member["access_token"], joined["id"])
    return people


async def _relay(source: Any, targets: list[Any]) -> None:
    """Hands every event in `source`'s outbox to the targets' own handlers, oldest first."""
    for event in await outbox(source):
        for app in targets:
            await ie.deliver(app, event.type, dict(event.payload))


async def _community(c: httpx.AsyncClient, name: str, owner: str, phone: str) -> str:
    cid = (await _ok(await c.post("/communities", json={"name": name}, headers=auth(admin_token())), 201))["id"]
    rows = [["1", "", "101", "89.50", "delivered", owner, phone, ""],
            ["1", "", "102", "95.00", "delivered", "吴芳", "13700001111", ""]]
    await _ok(await c.post(f"/communities/{cid}/roster", files={"file": ("r.csv", roster(rows), "text/csv")},
                           headers=auth(admin_token())))
    return str(cid)


async def _build_world(apps: dict[str, Any], clients: dict[str, httpx.AsyncClient], fake: WeChatForTests) -> World:
    idc = clients["identity"]
    home_cid = await _community(idc, "家园小区", "李明", "13812341234")
    away_cid = await _community(idc, "别处小区", "郑强", "13912345678")
    home = await _household(idc, fake, home_cid, "李明", "13812341234")
    away = await _household(idc, fake, away_cid, "郑强", "13912345678")
    home_manager, _ = await _staff(idc, home_cid, "manager", None)
    _, home_crew_staff = await _staff(idc, home_cid, "crew", "repair")
    callers_staff = {
        "crew": await _staff(idc, away_cid, "crew", "repair"),
        "customer_service": await _staff(idc, away_cid, "crew", "customer_service"),
        "manager": await _staff(idc, away_cid, "manager", None),
    }
    # A pending request for the home community's other room (no WeChat phone: it waits).
    stranger = await login(idc, fake, f"o-{uuid.uuid4().hex[:10]}")
    pending = await _ok(await idc.post(
        "/me/bindings", json={"room_id": await room_id(idc, home_cid, "1栋102", stranger["access_token"]),
                              "relation": "owner", "name": "吴芳", "phone": "13700001111"},
        headers=auth(stranger["access_token"])), 201)
    nobody = await login(idc, fake, f"o-{uuid.uuid4().hex[:10]}")
    await _relay(apps["identity"], [apps["repairs"], apps["votes"], apps["notices"], apps["billing"]])

    owner_h, manager_h = auth(home["owner"][0]), auth(home_manager)
    upload = await _ok(await clients["repairs"].post(
        "/uploads", files={"file": ("p.png", image_bytes(), "image/png")}, headers=owner_h), 201)
    ticket_body = _fill(TICKET, {"cid": home_cid, "room_id": home["room_id"]}) | {"photo_ids": [upload["id"]]}
    ticket = await _ok(await clients["repairs"].post("/repairs", json=ticket_body, headers=owner_h), 201)
    await _ok(await clients["repairs"].post(f"/repairs/{ticket['id']}/transitions", json={"action": "accept"},
                                            headers=manager_h))
    pooled = await _ok(await clients["repairs"].post(
        "/repairs", json=ticket_body | {"photo_ids": [], "on_behalf": True}, headers=manager_h), 201)
    await _ok(await clients["repairs"].post(f"/repairs/{pooled['id']}/transitions", json={"action": "accept_assign"},
                                            headers=manager_h))
    await _relay(apps["repairs"], [apps["notices"]])
    entry = (await _ok(await clients["notices"].get("/inbox", headers=owner_h)))["items"][0]
    vc = clients["votes"]
    vote = await _ok(await vc.post("/votes", json=_vote_body(home_cid), headers=manager_h), 201)
    await _ok(await vc.post(f"/votes/{vote['id']}/open", headers=manager_h))
    draft = await _ok(await vc.post("/votes", json=_vote_body(home_cid), headers=manager_h), 201)
    notice = await _ok(await clients["notices"].post(
        "/notices", json=_fill(NOTICE, {"cid": home_cid}), headers=manager_h), 201)
    nc = clients["notices"]
    # An activity with one sign-up, and a household on the care list.
    activity_notice = await _ok(await nc.post("/notices", json=_fill(NOTICE, {"cid": home_cid}) | {
        "category": "activity", "title": "社区义诊"}, headers=manager_h), 201)
    for action in ("submit", "approve", "publish"):
        other = auth(admin_token()) if action == "approve" else manager_h
        await _ok(await nc.post(f"/notices/{activity_notice['id']}/{action}", headers=other))
    soon = datetime.now(UTC) + timedelta(days=2)
    await _ok(await nc.post("/activities", json={
        "notice_id": activity_notice["id"], "location": "活动中心", "capacity": 5,
        "starts_at": soon.isoformat(), "signup_deadline": (soon - timedelta(days=1)).isoformat()}, headers=manager_h), 201)
    signup = await _ok(await nc.post(f"/activities/{activity_notice['id']}/signups", json={"room_id": home["room_id"]},
                                     headers=owner_h), 201)
    await _ok(await nc.put(f"/care-list/{home['room_id']}", params={"community_id": home_cid}, json=CARE_FLAG,
                           headers=manager_h))
    # The home community's contact card and QR code exist, so refusals are not "none set".
    await _ok(await idc.put(f"/communities/{home_cid}/contact-card", json={"service_phone": "0571-88886666"},
                            headers=manager_h))
    await _ok(await idc.post(f"/communities/{home_cid}/scenes", json={}, headers=manager_h))
    attachment = await _ok(await clients["notices"].post(
        f"/notices/{notice['id']}/attachments", files={"file": ("a.pdf", PDF_FILE, "application/pdf")},
        headers=manager_h), 201)
    bc = clients["billing"]
    await _ok(await bc.post(f"/communities/{home_cid}/fees/items", json={
        "code": "wuye", "name": "物业费", "kind": "per_area", "rate_fen": 235, "effective_from": "2026-01"},
        headers=manager_h), 201)
    for period in ("2026-11", "2026-12"):
        await _ok(await bc.post(f"/communities/{home_cid}/fees/bills/generate", json={"period": period}, headers=manager_h))
    bills = (await _ok(await bc.get("/me/bills", headers=owner_h)))["rooms"][0]["bills"]
    paid = await _ok(await bc.post(f"/communities/{home_cid}/fees/offline-payments", json={
        "bill_ids": [bills[0]["id"]], "channel": "cash", "offline_ref": "NO.1"}, headers=manager_h), 201)

    ids = {
        "cid": home_cid, "room_id": home["room_id"], "binding_id": home["owner"][1], "member_id": home["family"][1],
        "pending_binding_id": pending["id"], "staff_id": home_crew_staff, "ticket_id": ticket["id"],
        "pooled_ticket_id": pooled["id"], "owner_id": ticket["reporter_id"],
        "upload_id": upload["id"], "entry_id": entry["id"], "vote_id": vote["id"], "draft_vote_id": draft["id"],
        "vote_item_id": vote["items"][0]["id"], "notice_id": notice["id"],
        "activity_id": activity_notice["id"], "activity_signup_id": signup["id"],
        "attachment_id": attachment["id"],
        "bill_id": bills[0]["id"], "unpaid_bill_id": bills[1]["id"], "payment_id": paid["id"],
    }
    mine = {"cid": away_cid, "binding_id": away["owner"][1], "room_id": away["room_id"]}
    callers = {relation: (away[relation][0], mine) for relation in ("owner", "family", "tenant")}
    callers |= {role: (tok, mine) for role, (tok, _) in callers_staff.items()}
    callers["no_binding"] = (nobody["access_token"], {"cid": away_cid, "binding_id": str(uuid.uuid4())})
    return World(clients, ids, callers, {"manager": home_manager, "owner": home["owner"][0]})


@pytest.fixture
async def world(database_urls: dict[str, str], tmp_path: Path) -> AsyncIterator[World]:
    async with (
        running_app("identity", database_urls["identity"]) as identity,
        repairs_app(database_urls["repairs"], tmp_path / "uploads") as repairs,
        running_app("votes", database_urls["votes"], scheduler_interval_seconds=0) as votes,
        notices_app(database_urls["notices"]) as notices,
        running_app("billing", database_urls["billing"], scheduler_interval_seconds=0) as billing,
    ):
        apps = {"identity": identity, "repairs": repairs, "votes": votes, "notices": notices, "billing": billing}
        fake = install(identity)
        clients = {name: client_for(app) for name, app in apps.items()}
        try:
            yield await _build_world(apps, clients, fake)
        finally:
            for client in clients.values():
                await client.aclose()


def test_every_route_has_a_row_in_the_matrix() -> None:
    routes = route_table(fresh_apps())
    assert len(routes) >= 57 + len(ADMIN_EVENTS) * len(SERVICES)
    missing, stale = unmatched(routes)
    assert not missing, f"routes without a BOLA matrix row (add one to MATRIX): {missing}"
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


def test_a_route_added_without_a_row_is_caught() -> None:
    apps = fresh_apps()
    apps["votes"].add_api_route("/votes/{vote_id}/voters", lambda vote_id: [], methods=["GET"])
    missing, _ = unmatched(route_table(apps))
    assert missing == [("votes", "GET", "/votes/{vote_id}/voters")]


async def test_no_role_of_another_community_reaches_this_communitys_objects(world: World) -> None:
    leaks: list[str] = []
    sent = 0
    secret = [v for k, v in world.home.items() if k != "cid"]
    for (service, _method, route), row in sorted(MATRIX.items()):
        if row.build is None:
            continue
        client = world.clients[service]
        for role in FOREIGN_ROLES:
            tok, mine = world.callers[role]
            for req in row.build(world.home, mine):
                response = await client.request(
                    req.method, req.path, json=req.json, params=req.params, files=req.files, headers=auth(tok)
                )
                sent += 1
                refused = response.status_code in (403, 404)
                if row.shows is not None and response.status_code == 200:
                    refused = not any(value in response.text for value in secret)
                if not refused:
                    leaks.append(f"{role:>16} {req.method} {req.path} ({route}) → {response.status_code} {response.text[:160]}")
        if row.shows is not None:
            seen = [
                (await client.request(req.method, req.path, params=req.params, headers=auth(world.home_callers[row.control]))).text
                for req in row.build(world.home, {})
            ]
            assert any(world.home[row.shows] in text for text in seen), f"{route}: the home {row.control} sees nothing"
    assert not leaks, f"{len(leaks)} of {sent} foreign requests were not refused:\n" + "\n".join(leaks)
    assert sent >= 60 * len(FOREIGN_ROLES)


async def test_own_data_routes_show_nothing_of_another_community(world: World) -> None:
    """The exempt reads that answer with the caller's own data carry none of the home ids."""
    secret = [v for k, v in world.home.items() if k != "cid"]
    for role in FOREIGN_ROLES:
        tok, _ = world.callers[role]
        for service, path in (("identity", "/me"), ("notices", "/inbox"), ("notices", "/inbox/unread-count"),
                              ("notices", "/me/subscriptions"), ("repairs", "/repairs"), ("votes", "/votes"),
                              ("notices", "/notices"), ("billing", "/me/bills")):
            response = await world.clients[service].get(path, headers=auth(tok))
            assert response.status_code < 500, (role, path, response.text)
            assert not any(value in response.text for value in secret), (role, path, response.text)
