"""The gateway in process, forwarding over real loopback TCP: to identity (its real app and
database), and to a small echo server where the proxy's mechanics are under test."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.upstream import UpstreamPool
from services.common.auth import TokenVerifier
from services.common.tokens import AccessClaims, SigningKey, issue_access_token
from tests.gateway.support import closed_port_url, echo_app, gateway_client, gateway_settings, serve
from tests.support import JWKS_JSON, admin_token, assert_error, auth, running_app, token


@pytest.fixture(scope="module")
async def echo_url() -> AsyncIterator[str]:
    async with serve(echo_app) as url:
        yield url




async def test_authenticated_read_goes_through_to_identity(database_urls: dict[str, str]) -> None:
    async with running_app("identity", database_urls["identity"]) as identity:
        async with serve(identity, lifespan="off") as identity_url:
            async with gateway_client(gateway_settings({"identity": identity_url})) as (_, gw):
                admin = auth(admin_token())
                created = await gw.post("/api/v1/communities", json={"name": "阳光小区"}, headers=admin)
                assert created.status_code == 201, created.text
                cid = created.json()["id"]
                read = await gw.get(f"/api/v1/communities/{cid}", headers=admin)
                assert read.status_code == 200
                assert read.json()["name"] == "阳光小区"
                # The service still checks the token itself: a stranger's is not enough.
                stranger = await gw.get(f"/api/v1/communities/{cid}", headers=auth(token()))
                assert_error(stranger, 404)
                # Service paths that are not public stay unreachable.
                assert_error(await gw.get("/api/v1/.well-known/jwks.json"), 404, "not_found")


async def test_forwards_method_path_query_body_and_chosen_headers(echo_url: str) -> None:
    async with gateway_client(gateway_settings({"repairs": echo_url})) as (_, gw):
        response = await gw.post(
            "/api/v1/repairs/t%201/transitions?x=1&y=%E4%B8%AD",
            content=b'{"action": "accept"}',
            headers={
                **auth(token()),
                "content-type": "application/json",
                "cookie": "secret=1",
                "x-forwarded-for": "1.2.3.4",
                "x-request-id": "rid-123",
            },
        )
    assert response.status_code == 200
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["raw_path"] == "/repairs/t%201/transitions"
    assert seen["query"] == "x=1&y=%E4%B8%AD"
    assert seen["body_length"] == len(b'{"action": "accept"}')
    assert seen["headers"]["authorization"].startswith("Bearer ")
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["x-request-id"] == "rid-123"
    # The gateway states the client's address itself; what the client claimed is dropped.
    assert seen["headers"]["x-forwarded-for"] == "203.0.113.7"
    assert "cookie" not in seen["headers"]
    # The request id is the gateway's (echoed), never the upstream's.
    assert response.headers.get_list("x-request-id") == ["rid-123"]
    assert response.headers["x-upstream"] == "echo"


async def test_request_id_is_generated_when_absent(echo_url: str) -> None:
    async with gateway_client(gateway_settings({"repairs": echo_url})) as (_, gw):
        response = await gw.get("/api/v1/repairs", headers=auth(token()))
    rid = response.headers["x-request-id"]
    assert len(rid) >= 16
    assert response.json()["headers"]["x-request-id"] == rid


async def test_admin_event_tools_reach_the_named_service(echo_url: str) -> None:
    async with gateway_client(gateway_settings({"votes": echo_url})) as (_, gw):
        response = await gw.post("/api/v1/admin/events/votes/e1/redeliver", headers=auth(admin_token()))
    assert response.json()["raw_path"] == "/admin/events/e1/redeliver"


async def test_chunked_answers_are_passed_on_whole(echo_url: str) -> None:
    async with gateway_client(gateway_settings({"repairs": echo_url})) as (_, gw):
        response = await gw.get("/api/v1/repairs/chunked", headers=auth(token()))
    assert response.status_code == 202
    assert response.json()["method"] == "GET"
    assert int(response.headers["content-length"]) == len(response.content)
    assert "transfer-encoding" not in response.headers


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_token"),
        ({"Authorization": "Basic abc"}, "missing_token"),
        ({"Authorization": "Bearer not-a-jwt"}, "invalid_token"),
        (auth(token(ttl_seconds=60, now=time.time() - 3600)), "token_expired"),
        (
            auth(issue_access_token(SigningKey.generate(), AccessClaims(account_id="forger"))),
            "invalid_token",
        ),
    ],
)
async def test_bad_tokens_get_401_before_reaching_a_service(
    echo_url: str, headers: dict[str, str], code: str
) -> None:
    async with gateway_client(gateway_settings({"identity": echo_url})) as (_, gw):
        response = await gw.get("/api/v1/me", headers=headers)
    assert_error(response, 401, code)


async def test_login_calls_need_no_token() -> None:
    # Nothing listens upstream: reaching the forwarding step shows the token was not asked for.
    async with gateway_client(gateway_settings()) as (_, gw):
        response = await gw.post("/api/v1/auth/staff-login", json={"username": "a", "password": "b"})
        assert_error(response, 503, "service_unavailable")
        assert_error(await gw.get("/api/v1/communities/c1/buildings"), 401, "missing_token")


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        # The gateway would check one token and the service act on the other.
        ([("Authorization", f"Bearer {token()}"), ("Authorization", "Bearer forged")], "Authorization"),
        ([("Authorization", "Bearer forged"), ("Authorization", f"Bearer {token()}")], "Authorization"),
        # Read one way by the gateway's body limit and another by the service's parser.
        (
            [("Authorization", f"Bearer {token()}"), ("Content-Type", "application/json"),
             ("Content-Type", "multipart/form-data; boundary=x")],
            "Content-Type",
        ),
    ],
    ids=["valid-then-forged-token", "forged-then-valid-token", "two-content-types"],
)
async def test_a_repeated_authorization_or_content_type_header_is_refused_with_400(
    echo_url: str, headers: list[tuple[str, str]], name: str
) -> None:
    async with gateway_client(gateway_settings({"repairs": echo_url})) as (_, gw):
        response = await gw.post("/api/v1/repairs", content=b"{}", headers=headers)
        error = assert_error(response, 400, "duplicate_header")
        assert error["details"] == {"header": name}
        assert name in error["message"]
        # Each once is fine (the request reaches the service).
        single = {"Authorization": f"Bearer {token()}", "Content-Type": "application/json"}
        assert (await gw.post("/api/v1/repairs", content=b"{}", headers=single)).status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing", "/api/v1/events", "/api/v1/internal/rooms", "/api/v1", "/docs", "/events"]
)
async def test_unknown_and_internal_paths_are_404_in_the_error_shape(path: str) -> None:
    async with gateway_client(gateway_settings()) as (_, gw):
        response = await gw.post(path, headers=auth(token()))
    assert_error(response, 404, "not_found")


async def test_a_service_that_is_down_answers_503_at_once() -> None:
    async with gateway_client(gateway_settings()) as (_, gw):
        started = time.monotonic()
        response = await gw.get("/api/v1/votes", headers=auth(token()))
    assert time.monotonic() - started < 1.0
    error = assert_error(response, 503, "service_unavailable")
    assert error["message"] == "投票服务暂时不可用，请稍后再试"


async def test_a_service_that_does_not_answer_in_time_gives_504(echo_url: str) -> None:
    settings = gateway_settings({"repairs": echo_url}, upstream_timeout_seconds=0.3)
    async with gateway_client(settings) as (_, gw):
        started = time.monotonic()
        response = await gw.get("/api/v1/repairs/slow", headers=auth(token()))
    assert time.monotonic() - started < 2.0
    assert_error(response, 504, "upstream_timeout")


async def test_json_bodies_over_1_mib_get_413(echo_url: str) -> None:
    async with gateway_client(gateway_settings({"repairs": echo_url})) as (_, gw):
        big = b'{"description": "' + b"x" * (1024 * 1024) + b'"}'
        response = await gw.post(
            "/api/v1/repairs", content=big, headers={**auth(token()), "content-type": "application/json"}
        )
        assert_error(response, 413, "payload_too_large")
        fits = await gw.post(
            "/api/v1/repairs", content=big[: 1000 * 1024], headers={**auth(token()), "content-type": "application/json"}
        )
        assert fits.status_code == 200


async def test_uploads_may_be_up_to_10_mib(echo_url: str) -> None:
    async with gateway_client(gateway_settings({"repairs": echo_url})) as (_, gw):
        headers = auth(token())
        photo = {"file": ("p.jpg", b"\xff" * (3 * 1024 * 1024), "image/jpeg")}
        ok = await gw.post("/api/v1/uploads", files=photo, headers=headers)
        assert ok.status_code == 200
        assert ok.json()["body_length"] > 3 * 1024 * 1024
        huge = {"file": ("p.jpg", b"\xff" * (10 * 1024 * 1024 + 1), "image/jpeg")}
        assert_error(await gw.post("/api/v1/uploads", files=huge, headers=headers), 413)


async def test_undeclared_oversized_body_is_cut_off_with_413(echo_url: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * (512 * 1024)

    async with gateway_client(gateway_settings({"repairs": echo_url})) as (_, gw):
        response = await gw.post("/api/v1/repairs", content=chunks(), headers=auth(token()))
    assert_error(response, 413, "payload_too_large")


async def test_each_account_has_its_own_bucket(echo_url: str) -> None:
    settings = gateway_settings({"repairs": echo_url}, rate_account_per_second=0.01, rate_account_burst=2)
    async with gateway_client(settings) as (_, gw):
        alice, bob = auth(token()), auth(token())
        assert [(await gw.get("/api/v1/repairs", headers=alice)).status_code for _ in range(2)] == [200, 200]
        limited = await gw.get("/api/v1/repairs", headers=alice)
        error = assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert error["details"]["retry_after"] == int(limited.headers["retry-after"])
        assert (await gw.get("/api/v1/repairs", headers=bob)).status_code == 200


async def test_each_client_address_has_its_own_bucket_even_without_a_token() -> None:
    settings = gateway_settings(rate_ip_per_second=0.01, rate_ip_burst=2)
    async with gateway_client(settings) as (app, gw):
        for _ in range(2):
            assert_error(await gw.get("/api/v1/me", headers={"Authorization": "Bearer forged"}), 401)
        # Forged tokens count too: guessing is limited like everything else.
        assert_error(await gw.get("/api/v1/me", headers={"Authorization": "Bearer forged"}), 429)
        other = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("198.51.100.9", 1)), base_url="http://gateway"
        )
        async with other:
            assert_error(await other.get("/api/v1/me"), 401, "missing_token")


async def test_rate_limits_shared_through_redis(echo_url: str) -> None:
    from tests.gateway.support import REDIS_URL, redis_up

    if not redis_up():
        pytest.skip("no Redis")
    import uuid

    account = f"acct-{uuid.uuid4().hex}"
    settings = gateway_settings(
        {"repairs": echo_url}, redis_url=REDIS_URL, rate_account_per_second=0.01, rate_account_burst=1
    )
    async with gateway_client(settings) as (_, first), gateway_client(settings) as (_, second):
        headers = auth(token(account))
        assert (await first.get("/api/v1/repairs", headers=headers)).status_code == 200
        # Another gateway replica sees the same bucket.
        assert_error(await second.get("/api/v1/repairs", headers=headers), 429, "rate_limited")


async def test_readyz_reports_every_service() -> None:
    async with gateway_client(gateway_settings()) as (_, gw):
        response = await gw.get("/readyz")
        assert response.status_code == 503
        assert response.json()["services"] == dict.fromkeys(
            ("identity", "repairs", "votes", "notices"), "unreachable"
        )
        assert (await gw.get("/healthz")).json() == {"status": "ok", "service": "gateway"}


@pytest.mark.parametrize("who", ["anonymous", "owner", "manager", "platform-admin"])
async def test_metrics_are_not_served_on_the_public_port(who: str) -> None:
    headers = {
        "anonymous": {},
        "owner": auth(token()),
        "manager": auth(token(staff={"c1": {"role": "manager", "department": None}})),
        "platform-admin": auth(admin_token()),
    }[who]
    async with gateway_client(gateway_settings(metrics_port=0)) as (_, gw):
        response = await gw.get("/metrics", headers=headers)
    assert_error(response, 404, "not_found")
    assert "http_requests_total" not in response.text


async def test_metrics_are_served_on_the_internal_listener() -> None:
    async with gateway_client(gateway_settings(metrics_port=0)) as (app, gw):
        await gw.get("/healthz")
        assert app.core.internal is not None
        async with httpx.AsyncClient(base_url=app.core.internal.url) as internal:
            metrics = await internal.get("/metrics")
            assert metrics.status_code == 200
            assert metrics.headers["content-type"].startswith("text/plain")
            assert 'http_requests_total{' in metrics.text
            assert (await internal.head("/metrics")).content == b""
            assert_error(await internal.get("/api/v1/me"), 404, "not_found")
            # A client that sends half a request is dropped, not waited on forever.
            reader, writer = await asyncio.open_connection(app.core.internal.host, app.core.internal.port)
            writer.write(b"GET /metrics HTTP/1.1\r\n" + b"x" * 20000)
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
    # Off unless configured.
    async with gateway_client(gateway_settings()) as (app, _):
        assert app.core.internal is None


async def test_two_workers_share_the_internal_listeners_port() -> None:
    """`uvicorn --workers 2`: each worker starts the listener on the configured port."""
    from gateway.internal import InternalListener
    from scripts.stack import free_port

    port = free_port()
    first, second = InternalListener("127.0.0.1", port), InternalListener("127.0.0.1", port)
    await first.start()
    try:
        await asyncio.wait_for(second.start(), 5)  # was: OSError, address already in use
        async with httpx.AsyncClient(base_url=first.url) as internal:
            assert (await internal.get("/metrics")).status_code == 200
    finally:
        await second.close()
        await first.close()


async def test_verified_tokens_are_remembered_until_they_expire() -> None:
    verifier = TokenVerifier(jwks=json.loads(JWKS_JSON))
    tok = token("acct-1", ttl_seconds=900, now=time.time() - 899)
    assert (await verifier.verify(tok)).account_id == "acct-1"
    assert (await verifier.verify(tok)).account_id == "acct-1"
    await asyncio.sleep(1.1)
    with pytest.raises(Exception) as raised:
        await verifier.verify(tok)
    assert getattr(raised.value, "code", None) == "token_expired"


async def test_pool_retries_a_kept_alive_connection_the_service_closed(echo_url: str) -> None:
    async with serve(echo_app, timeout_keep_alive=1) as url:
        pool = UpstreamPool(url, idle_seconds=60)
        try:
            first = await pool.request("GET", b"/a", [], b"")
            await asyncio.sleep(1.5)  # the server drops the idle connection meanwhile
            second = await pool.request("POST", b"/b", [(b"content-type", b"text/plain")], b"hi")
        finally:
            await pool.aclose()
    assert first.status == second.status == 200
    assert json.loads(second.body)["body_length"] == 2


async def test_connection_refused_is_reported_quickly() -> None:
    from gateway.upstream import UpstreamError

    pool = UpstreamPool(closed_port_url())
    with pytest.raises(UpstreamError):
        await pool.request("GET", b"/", [], b"")


async def test_access_log_keeps_failures_and_never_tokens(
    echo_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    tok = token()
    async with gateway_client(gateway_settings({"repairs": echo_url})) as (_, gw):
        # The app set up its own JSON logging; listen in on the logger itself.
        logging.getLogger("access").addHandler(caplog.handler)
        try:
            await gw.get("/api/v1/repairs?phone=13800138000", headers=auth(tok))
            await gw.get("/api/v1/nothing", headers=auth(tok))
        finally:
            logging.getLogger("access").removeHandler(caplog.handler)
    lines = [r for r in caplog.records if r.name == "access"]
    # Forwarded successes are the service's to log (same X-Request-Id); failures are ours.
    assert [(r.path, r.status) for r in lines] == [("/api/v1/nothing", 404)]  # type: ignore[attr-defined]
    assert tok not in caplog.text and "13800138000" not in caplog.text


async def test_cors_only_for_the_configured_console_origin(echo_url: str) -> None:
    console = "https://console.example.com"
    settings = gateway_settings({"repairs": echo_url}, cors_origins=[console])
    async with gateway_client(settings) as (_, gw):
        preflight = await gw.options(
            "/api/v1/repairs",
            headers={"Origin": console, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == console
        read = await gw.get("/api/v1/repairs", headers={**auth(token()), "Origin": console})
        assert read.headers["access-control-allow-origin"] == console
        other = await gw.get("/api/v1/repairs", headers={**auth(token()), "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_head_requests_get_the_headers_without_a_body(echo_url: str) -> None:
    async with gateway_client(gateway_settings({"repairs": echo_url})) as (_, gw):
        headers = auth(token())
        head = await gw.head("/api/v1/repairs", headers=headers)
        get = await gw.get("/api/v1/repairs", headers=headers)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["x-upstream"] == "echo"
    assert int(head.headers["content-length"]) > 0
    assert get.status_code == 200
