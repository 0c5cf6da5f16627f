"""WeChat subscribe-message pushes against the WeChat stand-in: consents, quiet hours,
emergencies, refusals and retries; and the access-token cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from services.notices.models import PushMessage
from services.notices.rules import SHANGHAI
from services.notices.wechat import WeChatClient
from services.notices.worker import Worker
from tests import identity_events as ie
from tests.notices.support import (
    Community,
    notice_body,
    notices_app,
    published_notice,
    set_clock,
    tick,
    wechat_transport,
)
from tests.support import client_for

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)
LATE = datetime(2026, 11, 25, 23, 0, tzinfo=SHANGHAI).astimezone(UTC)
MORNING = datetime(2026, 11, 26, 7, 0, tzinfo=SHANGHAI).astimezone(UTC)
TEMPLATE = "tpl-notice"


class Setup:
    """The notices app, the stand-in behind it and an owner who can receive pushes."""

    def __init__(self, app, client, wechat, community, owner_id, owner, openid):
        self.app, self.client, self.wechat = app, client, wechat
        self.c, self.owner_id, self.owner, self.openid = community, owner_id, owner, openid

    async def consent(self, template: str = TEMPLATE, at_wechat: bool = True) -> None:
        r = await self.client.post(
            "/me/subscriptions", json={"template_ids": [template]}, headers=self.owner
        )
        assert r.status_code == 200, r.text
        if at_wechat:
            r = await self.wechat.post(
                "/_standin/consents", json={"openid": self.openid, "template_id": template}
            )
            assert r.status_code < 300

    async def messages(self) -> list[dict]:
        r = await self.wechat.get("/_standin/messages", params={"touser": self.openid})
        assert r.status_code == 200
        body = r.json()
        return body["messages"] if isinstance(body, dict) else body

    async def fault(self, path: str, times: int, **what: int) -> None:
        r = await self.wechat.post("/_standin/faults", json={"path": path, "times": times, **what})
        assert r.status_code < 300

    async def pushes(self) -> list[PushMessage]:
        async with self.app.state.sessionmaker() as s:
            return list(
                (await s.scalars(select(PushMessage).order_by(PushMessage.created_at))).all()
            )


@asynccontextmanager
async def push_setup(database_url: str, **overrides) -> AsyncIterator[Setup]:
    transport = wechat_transport()
    async with (
        notices_app(database_url, transport=transport, **overrides) as app,
        client_for(app) as client,
        httpx.AsyncClient(transport=transport, base_url="http://wechat.test") as wechat,
    ):
        set_clock(app, NOON)
        c = Community(app)
        owner_id, owner = await c.member(await c.room(), openid="openid-li")
        yield Setup(app, client, wechat, c, owner_id, owner, "openid-li")


@pytest.fixture
async def setup(database_urls):
    async with push_setup(database_urls["notices"]) as s:
        yield s


async def test_consented_owner_gets_one_push_per_consent(setup):
    s = setup
    subs = (await s.client.get("/me/subscriptions", headers=s.owner)).json()
    assert {t["purpose"] for t in subs["templates"]} == {"repair", "vote", "notice", "binding"}
    assert subs["consents"][TEMPLATE] == 0
    await s.consent()
    assert (await s.client.get("/me/subscriptions", headers=s.owner)).json()["consents"][
        TEMPLATE
    ] == 1

    title = "电梯维护保养通知，请各位业主注意安全出行并相互转告"
    first = await published_notice(s.client, s.c, title=title)
    await tick(s.app)
    messages = await s.messages()
    assert len(messages) == 1
    sent = messages[0]
    assert (
        sent["template_id"] == TEMPLATE
        and sent["page"] == f"/pages/notices/detail?id={first['id']}"
    )
    # thing values are at most 20 characters at WeChat: cut, not refused.
    assert sent["data"]["thing1"]["value"] == title[:19] + "…"
    assert (await s.client.get("/me/subscriptions", headers=s.owner)).json()["consents"][
        TEMPLATE
    ] == 0

    # No consent left: the second notice reaches the inbox only.
    second = await published_notice(s.client, s.c, title="第二条")
    await tick(s.app)
    assert len(await s.messages()) == 1
    links = [e["link"] for e in (await s.client.get("/inbox", headers=s.owner)).json()["items"]]
    assert f"/pages/notices/detail?id={second['id']}" in links


async def test_quiet_hours_hold_pushes_until_seven_but_emergencies_go_at_once(setup):
    s = setup
    await s.consent()
    await s.consent()
    set_clock(s.app, LATE)
    await published_notice(s.client, s.c, title="周末义诊活动", category="activity")
    await tick(s.app)
    assert await s.messages() == []
    # The inbox entry is there at once; only the push waits.
    assert any(
        e["kind"] == "notice_activity"
        for e in (await s.client.get("/inbox", headers=s.owner)).json()["items"]
    )

    r = await s.client.post(
        "/notices",
        json=notice_body(
            s.c,
            category="emergency",
            title="燃气泄漏",
            expires_at=(LATE + timedelta(hours=4)).isoformat(),
        ),
        headers=s.c.manager,
    )
    await s.client.post(f"/notices/{r.json()['id']}/publish", headers=s.c.manager)
    await tick(s.app)
    assert [m["data"]["thing1"]["value"] for m in await s.messages()] == ["燃气泄漏"]

    set_clock(s.app, MORNING - timedelta(minutes=1))
    await tick(s.app)
    assert len(await s.messages()) == 1
    set_clock(s.app, MORNING)
    await tick(s.app)
    assert [m["data"]["thing1"]["value"] for m in await s.messages()] == [
        "燃气泄漏",
        "周末义诊活动",
    ]


async def test_wechat_refusal_is_recorded_and_not_retried(setup):
    s = setup
    await s.consent(at_wechat=False)  # we think we have a consent; WeChat says 43101
    await published_notice(s.client, s.c)
    await tick(s.app)
    [push] = await s.pushes()
    assert (push.status, push.errcode, push.attempts) == ("refused", 43101, 1)
    set_clock(s.app, NOON + timedelta(hours=2))
    await tick(s.app)
    assert (await s.pushes())[0].attempts == 1
    assert (await s.client.get("/me/subscriptions", headers=s.owner)).json()["consents"][
        TEMPLATE
    ] == 0

    await s.consent()
    await s.fault("/cgi-bin/message/subscribe/send", 1, errcode=47003)
    await published_notice(s.client, s.c, title="第二条")
    await tick(s.app)
    assert [(p.status, p.errcode) for p in await s.pushes()] == [
        ("refused", 43101),
        ("refused", 47003),
    ]
    assert await s.messages() == []


async def test_busy_and_rate_limited_wechat_is_retried_with_backoff(setup):
    s = setup
    await s.consent()
    await s.fault("/cgi-bin/message/subscribe/send", 1, errcode=-1)
    await s.fault("/cgi-bin/message/subscribe/send", 1, errcode=45011)
    await published_notice(s.client, s.c)
    await tick(s.app)
    [push] = await s.pushes()
    assert (push.status, push.attempts, push.errcode) == ("pending", 1, -1)
    assert push.next_attempt_at == NOON + timedelta(seconds=30)
    await tick(s.app)  # not due yet
    assert (await s.pushes())[0].attempts == 1

    set_clock(s.app, NOON + timedelta(seconds=30))
    await tick(s.app)
    [push] = await s.pushes()
    assert (push.status, push.attempts, push.errcode) == ("pending", 2, 45011)
    assert push.next_attempt_at == NOON + timedelta(seconds=90)

    set_clock(s.app, NOON + timedelta(seconds=90))
    await tick(s.app)
    assert (await s.pushes())[0].status == "sent"
    assert len(await s.messages()) == 1


async def test_unavailable_wechat_never_blocks_the_inbox_and_gives_up_after_max_attempts(
    database_urls,
):
    async with push_setup(database_urls["notices"], push_max_attempts=2) as s:
        app, client, owner = s.app, s.client, s.owner
        await s.consent()
        await s.fault("/cgi-bin/message/subscribe/send", 5, http_status=503)
        notice = await published_notice(client, s.c)
        await tick(app)
        links = [e["link"] for e in (await client.get("/inbox", headers=owner)).json()["items"]]
        assert f"/pages/notices/detail?id={notice['id']}" in links
        set_clock(app, NOON + timedelta(minutes=5))
        await tick(app)
        [push] = await s.pushes()
        assert (push.status, push.attempts) == ("failed", 2)


async def test_repair_progress_is_pushed_with_the_repair_template(setup):
    s = setup
    await s.consent("tpl-repair-progress")
    reporter = s.owner_id
    ticket = "t-1"
    await ie.deliver(
        s.app,
        "repairs.ticket.status_changed",
        {
            "community_id": s.c.id,
            "ticket_id": ticket,
            "reporter_id": reporter,
            "room_id": None,
            "from_status": "accepted",
            "to_status": "assigned",
            "action": "assign",
            "assignee_id": None,
            "note": None,
        },
    )
    await tick(s.app)
    [sent] = await s.messages()
    assert sent["template_id"] == "tpl-repair-progress"
    assert sent["page"] == "/pages/repairs/detail?id=t-1"
    assert sent["data"]["thing1"]["value"] == "报修已派单"


async def test_unknown_template_consent_is_refused_and_changes_nothing(setup):
    s = setup
    r = await s.client.post(
        "/me/subscriptions", json={"template_ids": [TEMPLATE, "tpl-nope"]}, headers=s.owner
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_template"
    assert "模板" in r.json()["error"]["message"]
    assert (await s.client.get("/me/subscriptions", headers=s.owner)).json()["consents"][
        TEMPLATE
    ] == 0


class TokenCounter:
    """A WeChat that counts stable_token calls (external HTTP: MockTransport is fair)."""

    def __init__(self, expires_in: int = 7200) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.revoked: set[str] = set()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            self.calls += 1
            await asyncio.sleep(0.01)  # long enough for concurrent callers to pile up
            return httpx.Response(
                200, json={"access_token": f"t{self.calls}", "expires_in": self.expires_in}
            )
        if request.url.params["access_token"] in self.revoked:
            return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential"})
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})


async def test_access_token_is_cached_refreshed_before_expiry_by_one_refresher():
    counter = TokenCounter(expires_in=7200)
    now = [1000.0]
    client = WeChatClient(
        httpx.MockTransport(counter.handle),
        base_url="http://wechat.test",
        appid="app",
        secret="secret",
        token_margin_seconds=300,
        monotonic=lambda: now[0],
    )
    tokens = await asyncio.gather(*(client.access_token() for _ in range(20)))
    assert set(tokens) == {"t1"} and counter.calls == 1
    now[0] += 7200 - 301  # still fresh
    assert await client.access_token() == "t1"
    now[0] += 2  # within the margin before expiry: refreshed ahead of time
    tokens = await asyncio.gather(*(client.access_token() for _ in range(20)))
    assert set(tokens) == {"t2"} and counter.calls == 2
    assert (await client.send_subscribe(openid="o", template_id="t", page="/p", data={})).ok
    # WeChat revoked the cached token early: fetched again once, and the send goes through.
    counter.revoked.add("t2")
    assert (await client.send_subscribe(openid="o", template_id="t", page="/p", data={})).ok
    assert counter.calls == 3
    await client.aclose()


async def test_a_timeout_is_a_retryable_failure_not_an_exception():
    def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 7200})
        raise httpx.ReadTimeout("WeChat did not answer", request=request)

    client = WeChatClient(
        httpx.MockTransport(slow), base_url="http://wechat.test", appid="a", secret="s"
    )
    result = await client.send_subscribe(openid="o", template_id="t", page="/p", data={})
    assert not result.ok and result.retryable and result.errcode is None
    await client.aclose()


async def test_two_workers_on_one_database_send_each_push_once(setup):
    s = setup
    openids = [s.openid]
    await s.consent()
    for n in range(5):
        openid = f"openid-{n}"
        _, member = await s.c.member(await s.c.room("3", f"30{n}"), openid=openid)
        await s.client.post("/me/subscriptions", json={"template_ids": [TEMPLATE]}, headers=member)
        await s.wechat.post("/_standin/consents", json={"openid": openid, "template_id": TEMPLATE})
        openids.append(openid)
    await published_notice(s.client, s.c)
    other = Worker(s.app.state.notices, s.app.state.sessionmaker)
    await asyncio.gather(s.app.state.notices_worker.tick(), other.tick())
    sent = (await s.wechat.get("/_standin/messages")).json()
    assert sorted(m["touser"] for m in sent) == sorted(openids)
    # Each push was taken by one worker only: one attempt, sent.
    assert {(p.status, p.attempts) for p in await s.pushes()} == {("sent", 1)}
