"""Votes through the app: create, open, ballots, close, results, events, visibility."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from sqlalchemy import select

from services.common.events.models import OutboxEvent
from services.votes import scheduler
from services.votes.models import Ballot, Elector
from tests import identity_events as ie
from tests.support import auth, client_for, running_app, token
from tests.votes.helpers import (
    T0,
    cast,
    count_rows,
    create_vote,
    manager,
    open_vote,
    owner_of,
)


def _app(database_urls):
    return running_app("votes", database_urls["votes"], scheduler_interval_seconds=0)


async def _events(app, vote_id):
    async with app.state.sessionmaker() as s:
        rows = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.ordering_key == vote_id).order_by(OutboxEvent.created_at)
        )
        return list(rows.all())


async def test_manager_runs_a_vote_owners_vote_and_results_follow_art_278(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        rooms = [await ie.room(app, cid, room_no=f"10{n}", area="100.00") for n in range(4)]
        owners = [await owner_of(app, cid, r) for r in rooms]
        vote = await create_vote(c, cid)
        assert vote["status"] == "draft" and [i["matter"] for i in vote["items"]] == ["major", "ordinary"]
        opened = await open_vote(c, cid, vote)
        assert opened["status"] == "open" and opened["opened_at"] is not None

        # 3 of 4 agree on the major motion (exactly 3/4), 2 of 3 participants agree on the ordinary one.
        assert (await cast(c, vote, owners[0], "agree", "agree")).status_code == 201
        assert (await cast(c, vote, owners[1], "agree", "agree")).status_code == 201
        assert (await cast(c, vote, owners[2], "agree", "disagree")).status_code == 201
        r = await c.get(f"/votes/{vote['id']}/results", headers=owners[0].headers)
        assert r.status_code == 409 and r.json()["error"]["code"] == "results_not_available"

        r = await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))
        assert r.status_code == 200 and r.json()["status"] == "closed"
        res = (await c.get(f"/votes/{vote['id']}/results", headers=owners[3].headers)).json()
        major, ordinary = res["motions"]
        assert res["final"] and res["electorate_rooms"] == 4 and res["ballots"] == 3
        assert major["participation"] == {"area": "300.00", "owners": "3", "area_ratio": "3/4", "owners_ratio": "3/4"}
        assert major["agreement"]["area_ratio"] == "1" and major["outcome"] == "passed"
        assert ordinary["agreement"] == {"area": "200.00", "owners": "2", "area_ratio": "2/3", "owners_ratio": "2/3"}
        assert ordinary["outcome"] == "passed"
        assert major["thresholds"] == {"quorum_area": ">= 2/3", "quorum_owners": ">= 2/3", "agree_area": ">= 3/4", "agree_owners": ">= 3/4"}

        events = await _events(app, vote["id"])
        assert [e.type for e in events] == ["votes.vote.opened", "votes.vote.closed"]
        assert events[0].payload["building_ids"] is None and events[0].payload["kind"] == "vote"
        assert events[1].payload["results"]["motions"][0]["outcome"] == "passed"


async def test_electorate_snapshot_is_fixed_for_the_vote_life(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        a = await ie.room(app, cid, area="100.00")
        b = await ie.room(app, cid, room_no="102", area="50.50", state="unsold")
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        # The roster changes after opening: an area corrected, a room added.
        await ie.deliver(app, "identity.room.upserted", {**a, "area": "120.00"})
        late = await ie.room(app, cid, room_no="103", area="80.00")
        late_owner = await owner_of(app, cid, late)
        r = await cast(c, vote, late_owner, "agree")
        assert r.status_code == 404  # not in the electorate: the vote is not theirs
        async with app.state.sessionmaker() as s:
            snap = {e.room_id: (e.area_hundredths, e.state) for e in (await s.scalars(select(Elector))).all()}
        assert snap == {a["room_id"]: (10000, "delivered"), b["room_id"]: (5050, "unsold")}
        await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))
        res = (await c.get(f"/votes/{vote['id']}/results", headers=manager(cid))).json()
        assert res["motions"][0]["total"] == {"area": "150.50", "owners": 2}


async def test_only_a_verified_owner_of_a_room_in_the_electorate_may_vote(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        one = await ie.room(app, cid, building="1")
        other = await ie.room(app, cid, building="2", room_no="201")
        owner = await owner_of(app, cid, one)
        family = await owner_of(app, cid, one, relation="family")
        tenant = await owner_of(app, cid, one, relation="tenant")
        vote = await create_vote(c, cid, scope={"building_ids": [one["building_id"]]})
        await open_vote(c, cid, vote)

        for member in (family, tenant):
            r = await cast(c, vote, member, "agree")
            assert r.status_code == 403 and r.json()["error"]["code"] == "not_room_owner"
            assert "业主" in r.json()["error"]["message"]
        r = await cast(c, vote, owner, "agree", room_id=other["room_id"])
        assert r.status_code == 422 and r.json()["error"]["code"] == "room_not_in_electorate"
        stranger = await c.post(
            f"/votes/{vote['id']}/ballots",
            json={"room_id": one["room_id"], "answers": []},
            headers=auth(token()),
        )
        assert stranger.status_code == 404
        assert await count_rows(app, Ballot) == 0

        bound = await ie.binding(app, cid, one["room_id"], relation="owner")
        await ie.revoke(app, bound)
        revoked = await c.post(
            f"/votes/{vote['id']}/ballots",
            json={"room_id": one["room_id"], "answers": []},
            headers=auth(token(bound["account_id"])),
        )
        assert revoked.status_code == 404
        assert (await cast(c, vote, owner, "agree")).status_code == 201


async def test_second_ballot_refused_unless_changes_are_allowed_and_every_ballot_is_kept(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        co_owner = await owner_of(app, cid, room)
        fixed = await create_vote(c, cid)
        changeable = await create_vote(c, cid, allow_change=True)
        for v in (fixed, changeable):
            await open_vote(c, cid, v)
            assert (await cast(c, v, owner, "agree")).status_code == 201

        r = await cast(c, fixed, co_owner, "disagree")
        assert r.status_code == 409 and r.json()["error"]["code"] == "already_voted"

        app.state.clock.advance(timedelta(hours=1))
        r = await cast(c, changeable, co_owner, "disagree")
        assert r.status_code == 201 and r.json()["replaced_previous"] is True
        detail = (await c.get(f"/votes/{changeable['id']}", headers=owner.headers)).json()
        assert detail["my_rooms"][0]["ballot"]["cast_by_me"] is False

        export = await c.get(f"/votes/{changeable['id']}/ballots.csv", headers=manager(cid))
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
        assert rows[0][:4] == ["房屋", "面积(㎡)", "状态", "投票时间"]
        assert [(r[2], r[5], r[-2]) for r in rows[1:]] == [
            ("已被替换", owner.account_id, "同意"),
            ("有效", co_owner.account_id, "反对"),
        ]
        assert (await c.get(f"/votes/{changeable['id']}/ballots.csv", headers=owner.headers)).status_code == 404

        app.state.clock.advance(timedelta(days=7))
        r = await cast(c, changeable, owner, "agree")
        assert r.status_code == 409 and r.json()["error"]["code"] == "vote_not_open"


async def test_owner_of_several_rooms_sees_each_room_and_its_ballot_status(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        r1 = await ie.room(app, cid, room_no="101", owner_key="wang")
        r2 = await ie.room(app, cid, room_no="102", owner_key="wang")
        owner = await owner_of(app, cid, r1)
        await owner_of(app, cid, r2, account_id=owner.account_id)
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        assert (await cast(c, vote, owner, "agree")).status_code == 201
        detail = (await c.get(f"/votes/{vote['id']}", headers=owner.headers)).json()
        rooms = {room["room_id"]: room for room in detail["my_rooms"]}
        assert rooms[r1["room_id"]]["ballot"]["cast_by_me"] is True
        assert rooms[r2["room_id"]]["ballot"] is None and rooms[r2["room_id"]]["can_vote"] is True
        assert rooms[r1["room_id"]]["area"] == "89.50"
        assert "electorate_rooms" not in detail or detail["electorate_rooms"] is None


async def test_ballot_before_opening_and_results_visibility(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        vote = await create_vote(c, cid)
        # A draft is the manager's only.
        assert (await c.get(f"/votes/{vote['id']}", headers=owner.headers)).status_code == 404
        r = await c.post(
            f"/votes/{vote['id']}/ballots",
            json={"room_id": room["room_id"], "answers": []},
            headers=manager(cid),
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "vote_not_open"
        # Foreign managers see nothing.
        assert (await c.get(f"/votes/{vote['id']}", headers=manager(str(uuid.uuid4())))).status_code == 404
        assert (await c.post(f"/votes/{vote['id']}/open", headers=manager(str(uuid.uuid4())))).status_code == 404

        await open_vote(c, cid, vote)
        await cast(c, vote, owner, "agree")
        r = await c.get(f"/votes/{vote['id']}/results", headers=manager(cid))
        assert r.status_code == 409  # live counts not allowed by this vote
        live = await create_vote(c, cid, live_results=True)
        await open_vote(c, cid, live)
        await cast(c, live, owner, "disagree")
        r = await c.get(f"/votes/{live['id']}/results", headers=manager(cid))
        assert r.status_code == 200 and r.json()["final"] is False
        assert r.json()["motions"][0]["options"]["disagree"]["area"] == "89.50"
        assert (await c.get(f"/votes/{live['id']}/results", headers=owner.headers)).status_code == 409


async def test_published_results_show_rooms_and_areas_never_names(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        rooms = [await ie.room(app, cid, room_no=f"10{n}", area=f"9{n}.25") for n in range(3)]
        owners = []
        for r in rooms:
            bound = await ie.binding(app, cid, r["room_id"], display_name=f"1栋{r['room_no']}张三丰")
            owners.append(auth(token(bound["account_id"])))
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        for h, r in zip(owners[:2], rooms, strict=False):
            body = {"room_id": r["room_id"], "answers": [{"item_id": i["id"], "option_ids": ["agree"]} for i in vote["items"]]}
            assert (await c.post(f"/votes/{vote['id']}/ballots", json=body, headers=h)).status_code == 201
        await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))
        page = await c.get(f"/votes/{vote['id']}/results/rooms?limit=2", headers=owners[2])
        assert page.status_code == 200
        first = page.json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        second = (await c.get(f"/votes/{vote['id']}/results/rooms?limit=2&cursor={first['next_cursor']}", headers=owners[2])).json()
        listed = first["items"] + second["items"]
        assert [(x["label"], x["area"], x["voted"]) for x in listed] == [
            ("1栋100", "90.25", True),
            ("1栋101", "91.25", True),
            ("1栋102", "92.25", False),
        ]
        assert listed[0]["answers"] == {i["id"]: "agree" for i in vote["items"]}
        everything = page.text + (await c.get(f"/votes/{vote['id']}/results", headers=owners[2])).text
        assert "张三丰" not in everything


async def test_scheduler_opens_and_closes_on_time(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        vote = await create_vote(
            c, cid, opens_at=(T0 + timedelta(hours=1)).isoformat(), closes_at=(T0 + timedelta(days=2)).isoformat()
        )
        r = await c.post(f"/votes/{vote['id']}/open", headers=manager(cid))
        assert r.json()["status"] == "scheduled"
        r = await c.patch(f"/votes/{vote['id']}", json={"title": "改"}, headers=manager(cid))
        assert r.status_code == 409 and r.json()["error"]["code"] == "vote_not_editable"

        assert await scheduler.tick(app) == 0
        app.state.clock.advance(timedelta(hours=1))
        assert await scheduler.tick(app) == 1
        assert (await c.get(f"/votes/{vote['id']}", headers=owner.headers)).json()["status"] == "open"
        assert (await cast(c, vote, owner, "agree")).status_code == 201

        app.state.clock.advance(timedelta(hours=24))  # within a day of closing
        await scheduler.tick(app)
        app.state.clock.set(T0 + timedelta(days=2))
        await scheduler.tick(app)
        assert (await c.get(f"/votes/{vote['id']}", headers=owner.headers)).json()["status"] == "closed"
        events = await _events(app, vote["id"])
        assert [e.type for e in events] == ["votes.vote.opened", "votes.vote.closing_soon", "votes.vote.closed"]
        res = (await c.get(f"/votes/{vote['id']}/results", headers=owner.headers)).json()
        assert res["motions"][0]["outcome"] == "passed"


async def test_scheduler_task_runs_in_the_lifespan(database_urls):
    import asyncio

    cid = str(uuid.uuid4())
    async with running_app("votes", database_urls["votes"], scheduler_interval_seconds=0.02) as app, client_for(app) as c:
        app.state.clock.set(T0)
        await ie.room(app, cid)
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        app.state.clock.set(T0 + timedelta(days=8))
        for _ in range(100):
            await asyncio.sleep(0.02)
            r = await c.get(f"/votes/{vote['id']}", headers=manager(cid))
            if r.json()["status"] == "closed":
                break
        assert r.json()["status"] == "closed"


async def test_owners_list_votes_in_scope_managers_list_their_community(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        b1 = await ie.room(app, cid, building="1")
        b2 = await ie.room(app, cid, building="2")
        owner = await owner_of(app, cid, b1)
        mine = await create_vote(c, cid, scope={"building_ids": [b1["building_id"]]})
        theirs = await create_vote(c, cid, scope={"building_ids": [b2["building_id"]]})
        draft = await create_vote(c, cid)
        for v in (mine, theirs):
            await open_vote(c, cid, v)
        listed = (await c.get("/votes", headers=owner.headers)).json()
        assert [v["id"] for v in listed["items"]] == [mine["id"]]
        assert (await c.get(f"/votes/{theirs['id']}", headers=owner.headers)).status_code == 404
        page1 = (await c.get(f"/votes?community_id={cid}&limit=2", headers=manager(cid))).json()
        page2 = (await c.get(f"/votes?community_id={cid}&limit=2&cursor={page1['next_cursor']}", headers=manager(cid))).json()
        ids = {v["id"] for v in page1["items"] + page2["items"]}
        assert ids == {mine["id"], theirs["id"], draft["id"]} and page2["next_cursor"] is None
        drafts = (await c.get(f"/votes?community_id={cid}&status=draft", headers=manager(cid))).json()
        assert [v["id"] for v in drafts["items"]] == [draft["id"]]


async def test_community_settings_are_frozen_into_a_vote_when_it_opens(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        rooms = [await ie.room(app, cid, room_no=f"10{n}", area="100.00") for n in range(3)]
        owner = await owner_of(app, cid, rooms[0])
        r = await c.get(f"/votes/settings/{cid}", headers=manager(cid))
        assert r.json() == {"multi_room_headcount": "unanimous", "non_voters_follow_majority": False}
        assert (await c.get(f"/votes/settings/{cid}", headers=owner.headers)).status_code == 404
        r = await c.put(f"/votes/settings/{cid}", json={"non_voters_follow_majority": True}, headers=manager(cid))
        assert r.status_code == 200 and r.json()["non_voters_follow_majority"] is True
        bad = await c.put(f"/votes/settings/{cid}", json={"multi_room_headcount": "loudest"}, headers=manager(cid))
        assert bad.status_code == 422

        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        await c.put(f"/votes/settings/{cid}", json={"non_voters_follow_majority": False}, headers=manager(cid))
        await cast(c, vote, owner, "agree")
        await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))
        res = (await c.get(f"/votes/{vote['id']}/results", headers=owner.headers)).json()
        assert res["settings"]["non_voters_follow_majority"] is True
        assert res["motions"][0]["deemed"] == {"area": "200.00", "owners": "2"}
        assert res["motions"][0]["outcome"] == "passed"
