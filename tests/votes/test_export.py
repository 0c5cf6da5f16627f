"""The published per-room record, never a name (services/votes/export.py)."""

from __future__ import annotations

import uuid

from tests.common.identity_replica import factories as ie
from tests.support import auth, client_for, token
from tests.votes.factories import (
    T0,
    create_vote,
    manager,
    open_vote,
    votes_app,
)


async def test_published_results_show_rooms_and_areas_never_names(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
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
