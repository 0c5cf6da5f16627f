"""The background worker against the WeChat stand-in: refusals, retries with backoff,
giving up, several workers on one database, the loop in the lifespan
(services/notices/worker.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from services.notices.worker import Worker
from tests.common.identity_replica import factories as ie
from tests.notices.factories import (
    NOON,
    TEMPLATE,
    Community,
    notices_app,
    published_notice,
    push_setup,
    set_clock,
    tick,
)
from tests.support import client_for


async def test_the_worker_in_the_lifespan_delivers_without_being_asked(database_urls):
    async with (
        notices_app(database_urls["notices"], worker_interval_seconds=0.05) as app,
        client_for(app) as client,
    ):
        c = Community(app)
        _, owner = await c.member(await c.room())
        vote_id = str(uuid.uuid4())
        await ie.deliver(
            app,
            "votes.vote.closed",
            {
                "community_id": c.id,
                "vote_id": vote_id,
                "kind": "vote",
                "title": "更换电梯",
                "building_ids": None,
                "results": [],
            },
        )
        for _ in range(100):
            kinds = [e["kind"] for e in (await client.get("/inbox", headers=owner)).json()["items"]]
            if "vote_closed" in kinds:
                break
            await asyncio.sleep(0.05)
        assert "vote_closed" in kinds


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
