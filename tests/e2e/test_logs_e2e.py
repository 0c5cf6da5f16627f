"""No secret, login code, token, session key or phone number reaches any process's log file:
real logins through the gateway (WeChat via the stand-in, refresh, getPhoneNumber, a binding
with a phone, staff with a password) with every process logging at DEBUG."""

from __future__ import annotations

import re
import uuid

import httpx

from scripts.stack import Stack

APP_SECRET = "e2e-appsecret-4c1d8b2f"
ADMIN_USERNAME = "logs-root"
ADMIN_PASSWORD = "e2e-admin-pass-Z7k"
PHONE = "13812341234"

STACK_ENV = {
    "LOG_LEVEL": "DEBUG",
    "WECHAT_SECRET": APP_SECRET,
    "PLATFORM_ADMIN_USERNAME": ADMIN_USERNAME,
    "PLATFORM_ADMIN_PASSWORD": ADMIN_PASSWORD,
}

ROSTER = "楼栋,单元,房号,面积,状态,业主姓名,手机号\n1栋,,101,89.50,已交付,李明,+86 138-1234-1234\n"


def _bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def test_logins_leave_no_secret_code_token_or_phone_in_any_log(stack: Stack, gateway: httpx.Client) -> None:
    secrets = [APP_SECRET, ADMIN_PASSWORD, PHONE]
    wechat = httpx.Client(base_url=stack.url("wechat"), trust_env=False)
    admin = _bearer(stack.issue_token(f"admin-{uuid.uuid4().hex[:8]}", platform_admin=True))
    cid = gateway.post("/api/v1/communities", json={"name": "日志花园"}, headers=admin).json()["id"]
    r = gateway.post(
        f"/api/v1/communities/{cid}/roster", files={"file": ("r.csv", ROSTER.encode(), "text/csv")}, headers=admin
    )
    assert r.status_code == 200, r.text

    code = wechat.post("/_standin/login-codes", json={"openid": f"o-{uuid.uuid4().hex[:10]}"}).json()["code"]
    r = gateway.post("/api/v1/auth/wechat-login", json={"code": code})
    assert r.status_code == 200, r.text
    assert gateway.post("/api/v1/auth/wechat-login", json={"code": code}).status_code == 400
    first = r.json()
    r = gateway.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    tokens = r.json()
    owner = _bearer(tokens["access_token"])
    secrets += [code, first["access_token"], first["refresh_token"], tokens["access_token"], tokens["refresh_token"]]

    phone_code = wechat.post("/_standin/phone-codes", json={"phone": PHONE}).json()["code"]
    r = gateway.post("/api/v1/me/phone", json={"code": phone_code}, headers=owner)
    assert r.status_code == 200, r.text
    secrets.append(phone_code)

    tree = gateway.get(f"/api/v1/communities/{cid}/buildings", headers=owner).json()
    room = tree["buildings"][0]["units"][0]["rooms"][0]["id"]
    r = gateway.post(
        "/api/v1/me/bindings",
        json={"room_id": room, "relation": "owner", "name": "李明", "phone": "+86 138 1234 1234"},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    assert gateway.get("/api/v1/me", headers=owner).status_code == 200

    wrong = gateway.post("/api/v1/auth/staff-login", json={"username": ADMIN_USERNAME, "password": "not-" + ADMIN_PASSWORD})
    assert wrong.status_code == 401
    r = gateway.post("/api/v1/auth/staff-login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    secrets += [r.json()["access_token"], r.json()["refresh_token"]]

    live = wechat.post(
        "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": "wx-standin-app", "secret": APP_SECRET},
    ).json()
    secrets.append(live.get("access_token", ""))
    wechat.close()

    logs = {path.name: path.read_text(errors="replace") for path in (stack.data_dir / "logs").glob("*.log")}
    assert "/auth/wechat-login" in logs["identity.log"]  # the capture holds the traffic
    for name, text in logs.items():
        leaked = [s for s in secrets if s and s in text]
        if PHONE in re.sub(r"[\s+()\-]", "", text):
            leaked.append("phone")
        assert leaked == [], f"{name}: {leaked}"
