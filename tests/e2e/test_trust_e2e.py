"""Trust over real processes: a removed staff member's token stops working within seconds at
the gateway and at every service, while their other community keeps working after a refresh."""

from __future__ import annotations

import time
import uuid

import httpx

from scripts.stack import Stack
from tests.support import assert_error

# The test polls with one token until it is refused: rate limits must not answer first.
STACK_ENV = {
    "GATEWAY_RATE_ACCOUNT_PER_SECOND": "100",
    "GATEWAY_RATE_ACCOUNT_BURST": "1000",
    "GATEWAY_RATE_IP_PER_SECOND": "100",
    "GATEWAY_RATE_IP_BURST": "1000",
}


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def _refused_within(check, seconds: float) -> float:
    """Seconds until `check()` answers 401 roles_changed (fails after `seconds`)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        response = check()
        if response.status_code == 401:
            assert_error(response, 401, "roles_changed")
            return time.monotonic() - start
        assert response.status_code == 200, response.text
        time.sleep(0.05)
    raise AssertionError(f"old token still accepted after {seconds} s")


def test_removed_crew_loses_one_community_within_seconds_and_keeps_the_other(
    stack: Stack, gateway: httpx.Client
) -> None:
    admin = bearer(stack.issue_token(f"admin-{uuid.uuid4().hex}", platform_admin=True))
    a = gateway.post("/api/v1/communities", json={"name": "东区"}, headers=admin).json()["id"]
    b = gateway.post("/api/v1/communities", json={"name": "西区"}, headers=admin).json()["id"]
    username = f"crew.{uuid.uuid4().hex[:8]}"
    body = {"username": username, "password": "crew-pass-123", "name": "李师傅",
            "phone": "13600000002", "role": "crew", "department": "repair"}
    in_a = gateway.post(f"/api/v1/communities/{a}/staff", json=body, headers=admin)
    assert in_a.status_code == 201, in_a.text
    assert gateway.post(f"/api/v1/communities/{b}/staff", json=body, headers=admin).status_code == 201
    login = gateway.post("/api/v1/auth/staff-login", json={"username": username, "password": "crew-pass-123"})
    assert login.status_code == 200, login.text
    old = bearer(login.json()["access_token"])
    assert gateway.get(f"/api/v1/communities/{a}", headers=old).status_code == 200
    repairs = stack.url("repairs")
    assert httpx.get(f"{repairs}/repairs", params={"community_id": a}, headers=old).status_code == 200

    removed = gateway.delete(f"/api/v1/communities/{a}/staff/{in_a.json()['id']}", headers=admin)
    assert removed.status_code == 204
    # The pull runs every second: a few seconds at most, at the gateway and at a service.
    at_gateway = _refused_within(lambda: gateway.get(f"/api/v1/communities/{a}", headers=old), 5)
    at_repairs = _refused_within(
        lambda: httpx.get(f"{repairs}/repairs", params={"community_id": a}, headers=old), 5
    )
    assert at_gateway < 5 and at_repairs < 5
    # Every other service too, asked directly (reads any logged-in account may make).
    for service, path in (("identity", "/me"), ("votes", "/votes"), ("notices", "/inbox"), ("billing", "/me/bills")):
        url = stack.url(service) + path
        assert _refused_within(lambda url=url: httpx.get(url, headers=old), 5) < 5, service
    print(f"old token refused {at_gateway:.2f} s after removal at the gateway, then at every service")

    refreshed = gateway.post("/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    new = bearer(refreshed.json()["access_token"])
    assert gateway.get(f"/api/v1/communities/{b}", headers=new).status_code == 200
    assert_error(gateway.get(f"/api/v1/communities/{a}", headers=new), 404, "community_not_found")
