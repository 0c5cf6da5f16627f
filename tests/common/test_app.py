"""The shared plumbing as every service exposes it: health, errors, auth, limits."""

from __future__ import annotations

import pytest

from tests.support import SERVICES, admin_token, auth, client_for, manager_token, running_app, token


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_is_live_and_ready_at_migration_head(database_urls, service):
    async with running_app(service, database_urls[service]) as app, client_for(app) as c:
        assert (await c.get("/healthz")).json() == {"status": "ok", "service": service}
        ready = await c.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
        metrics = await c.get("/metrics")
        assert "http_requests_total" in metrics.text


async def test_readyz_reports_a_database_that_is_behind(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    async with running_app("votes", url) as app, client_for(app) as c:
        r = await c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "not_ready"


async def test_unknown_route_answers_404_in_the_error_shape(database_urls):
    async with running_app("identity", database_urls["identity"]) as app, client_for(app) as c:
        r = await c.get("/nope")
        assert r.status_code == 404
        assert r.json() == {"error": {"code": "not_found", "message": "请求的资源不存在", "details": None}}


async def test_request_id_is_echoed_or_generated(database_urls):
    async with running_app("identity", database_urls["identity"]) as app, client_for(app) as c:
        assert (await c.get("/healthz", headers={"X-Request-Id": "abc-1"})).headers["x-request-id"] == "abc-1"
        assert len((await c.get("/healthz")).headers["x-request-id"]) == 32


async def test_missing_bad_and_expired_tokens_are_401(database_urls):
    async with running_app("identity", database_urls["identity"]) as app, client_for(app) as c:
        r = await c.get("/communities/x")
        assert r.status_code == 401 and r.json()["error"]["code"] == "missing_token"
        r = await c.get("/communities/x", headers=auth("not-a-jwt"))
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
        expired = token(now=1_000_000)
        r = await c.get("/communities/x", headers=auth(expired))
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"


async def test_token_signed_by_another_key_is_refused(database_urls):
    from services.common.tokens import AccessClaims, SigningKey, issue_access_token

    forged_key = SigningKey.generate()
    forged = issue_access_token(forged_key, AccessClaims(account_id="a", platform_admin=True))
    async with running_app("identity", database_urls["identity"]) as app, client_for(app) as c:
        r = await c.post("/communities", json={"name": "x"}, headers=auth(forged))
        assert r.status_code == 401


async def test_validation_errors_are_422_with_chinese_details_and_change_nothing(database_urls):
    async with running_app("identity", database_urls["identity"]) as app, client_for(app) as c:
        h = auth(admin_token())
        for body in ({}, {"name": 5}, {"name": ""}, {"name": "a", "extra": 1}):
            r = await c.post("/communities", json=body, headers=h)
            assert r.status_code == 422, body
            err = r.json()["error"]
            assert err["code"] == "validation_error"
            assert err["details"][0]["field"] in ("name", "extra")
        r = await c.post("/communities", content=b"{not json", headers={**h, "content-type": "application/json"})
        assert r.status_code == 422
        assert r.json()["error"]["details"][0]["type"] == "json_invalid"


async def test_oversized_body_is_413(database_urls):
    async with running_app("identity", database_urls["identity"]) as app, client_for(app) as c:
        big = {"name": "x" * (1024 * 1024 + 10)}
        r = await c.post("/communities", json=big, headers=auth(admin_token()))
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"


async def test_platform_admin_creates_community_and_only_its_staff_read_it(database_urls):
    async with running_app("identity", database_urls["identity"]) as app, client_for(app) as c:
        r = await c.post("/communities", json={"name": "阳光小区"}, headers=auth(admin_token()))
        assert r.status_code == 201
        cid = r.json()["id"]
        r = await c.post("/communities", json={"name": "x"}, headers=auth(manager_token(cid)))
        assert r.status_code == 403
        assert (await c.get(f"/communities/{cid}", headers=auth(manager_token(cid)))).json()["name"] == "阳光小区"
        other = await c.get(f"/communities/{cid}", headers=auth(manager_token("another")))
        assert other.status_code == 404
