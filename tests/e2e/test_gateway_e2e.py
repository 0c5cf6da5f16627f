"""Through the gateway to the real services, each its own process on loopback."""

from __future__ import annotations

import time
import uuid

import httpx

from scripts.stack import Stack, wechat_standin_available
from tests.support import assert_error


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}




def test_gateway_is_alive_and_every_service_ready(stack: Stack, gateway: httpx.Client) -> None:
    assert gateway.get("/healthz").json() == {"status": "ok", "service": "gateway"}
    ready = gateway.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["services"] == dict.fromkeys(("identity", "repairs", "votes", "notices", "billing"), "ok")
    if wechat_standin_available():
        assert httpx.get(stack.url("wechat") + "/healthz").status_code == 200


def test_gateway_metrics_only_on_the_internal_listener(stack: Stack, gateway: httpx.Client) -> None:
    admin = bearer(stack.issue_token(f"admin-{uuid.uuid4().hex}", platform_admin=True))
    for headers in ({}, bearer(stack.issue_token(f"owner-{uuid.uuid4().hex}")), admin):
        assert_error(gateway.get("/metrics", headers=headers), 404, "not_found")
    url = stack.metrics_url()
    assert url is not None
    metrics = httpx.get(url, timeout=5, trust_env=False)
    assert metrics.status_code == 200
    assert "gateway_upstream_failures_total" in metrics.text or "http_requests_total" in metrics.text


def test_a_valid_token_reaches_identity_and_back(stack: Stack, gateway: httpx.Client) -> None:
    admin = bearer(stack.issue_token(f"admin-{uuid.uuid4().hex}", platform_admin=True))
    created = gateway.post("/api/v1/communities", json={"name": "幸福里"}, headers=admin)
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    read = gateway.get(f"/api/v1/communities/{cid}", headers={**admin, "X-Request-Id": "e2e-read-1"})
    assert read.status_code == 200
    assert read.json()["name"] == "幸福里"
    assert read.headers["x-request-id"] == "e2e-read-1"
    manager = bearer(
        stack.issue_token("m1", staff={cid: {"role": "manager", "department": None}})
    )
    assert gateway.get(f"/api/v1/communities/{cid}", headers=manager).status_code == 200


def test_a_bad_token_is_refused_with_401(gateway: httpx.Client) -> None:
    assert_error(gateway.get("/api/v1/me", headers=bearer("not.a.token")), 401, "invalid_token")
    assert_error(gateway.get("/api/v1/me"), 401, "missing_token")


def test_unknown_and_internal_paths_are_404_in_the_error_shape(gateway: httpx.Client) -> None:
    for path in ("/api/v1/nothing", "/api/v1/events", "/api/v1/.well-known/jwks.json", "/nothing"):
        assert_error(gateway.post(path), 404, "not_found")


def test_an_oversized_body_is_refused_with_413(stack: Stack, gateway: httpx.Client) -> None:
    admin = bearer(stack.issue_token("a-413", platform_admin=True))
    body = b'{"name": "' + b"x" * (1024 * 1024 + 1) + b'"}'
    response = gateway.post(
        "/api/v1/communities", content=body, headers={**admin, "content-type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


def test_too_many_requests_get_429_with_retry_after(gateway: httpx.Client) -> None:
    statuses = [gateway.get("/api/v1/me").status_code for _ in range(20)]
    assert statuses == [401] * 20
    limited = gateway.get("/api/v1/me")
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1


def test_a_stopped_service_gives_503_quickly_and_comes_back(stack: Stack, gateway: httpx.Client) -> None:
    tok = bearer(stack.issue_token(f"owner-{uuid.uuid4().hex}"))
    stack.stop(["votes"])
    try:
        started = time.monotonic()
        response = gateway.get("/api/v1/votes", headers=tok)
        assert time.monotonic() - started < 1.0
        error = assert_error(response, 503, "service_unavailable")
        assert error["message"] == "投票服务暂时不可用，请稍后再试"
        ready = gateway.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["services"]["votes"] == "unreachable"
    finally:
        stack.start(["votes"])
        stack.wait_ready(30, names=["votes"])
    assert gateway.get("/readyz").status_code == 200
