"""The content check (services/repairs/wechat.py): risky text refused on submit and on a
step, review text flagged, WeChat unreachable, and its access token cached and renewed."""

from __future__ import annotations

from tests.common.identity_replica import factories as ie
from tests.repairs.factories import World
from tests.support import assert_error, auth, token


async def test_risky_text_is_refused_and_review_text_is_flagged(world: World):
    before = await world.counts()
    err = assert_error(await world.submit(description="水管漏水 违禁内容"), 422, "content_risky")
    assert "违规" in err["message"]
    assert await world.counts() == before
    t = await world.ticket(description="水管漏水 [review]")
    assert t["content_flagged"] is True


async def test_risky_words_in_a_rating_comment_are_refused(world: World):
    tid = (await world.ticket())["id"]
    await world.drive(tid, "resolved")
    r = await world.act(world.owner, tid, "confirm", rating=1, comment="违禁内容")
    assert_error(r, 422, "content_risky")
    assert (await world.client.get(f"/repairs/{tid}", headers=world.owner)).json()["status"] == "resolved"
    await world.ok(world.owner, tid, "confirm", rating=1, comment="太慢了")


async def test_a_user_without_openid_still_gets_risky_text_refused(world: World, app):
    b = await ie.binding(app, world.cid, world.room_id, relation="family")
    who = auth(token(b["account_id"]))  # no openid claim: msgSecCheck version 1
    assert_error(await world.submit(who, description="违禁内容"), 422, "content_risky")


async def test_unreachable_wechat_accepts_the_ticket_flagged_for_review(world: World, app):
    wx = app.state.wechat_http
    await wx.post("/_standin/faults", json={"path": "/wxa/msg_sec_check", "http_status": 503, "times": 1})
    assert (await world.ticket())["content_flagged"] is True
    await wx.post("/_standin/faults", json={"path": "/wxa/msg_sec_check", "errcode": -1, "times": 1})
    assert (await world.ticket(category="electricity"))["content_flagged"] is True
    assert (await world.ticket(category="elevator"))["content_flagged"] is False


async def test_the_access_token_is_cached_and_renewed_when_replaced(world: World, app):
    wx = app.state.wechat_http
    calls: list[str] = []

    async def record(request) -> None:
        calls.append(request.url.path)

    wx.event_hooks["request"].append(record)
    await world.ticket()
    await world.ticket(category="electricity")
    assert calls.count("/cgi-bin/stable_token") == 1 and calls.count("/wxa/msg_sec_check") == 2
    # Someone forces a new token: ours answers 40001, is renewed once, and the check goes on.
    r = await wx.post("/cgi-bin/stable_token", json={"grant_type": "client_credential", "appid": "wx-app", "secret": "secret", "force_refresh": True})
    assert "access_token" in r.json()
    calls.clear()
    assert (await world.ticket(category="elevator", description="[review] 电梯异响"))["content_flagged"] is True
    assert calls == ["/wxa/msg_sec_check", "/cgi-bin/stable_token", "/wxa/msg_sec_check"]
