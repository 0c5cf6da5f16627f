"""Photos (formats by content, size, bombs, EXIF location, who may fetch them), ticket lists
for owners, crews and managers with cursor pagination, and the community statistics."""

from __future__ import annotations

import io
from datetime import timedelta

import pillow_heif
from PIL import Image

from tests.repairs.helpers import World, image_bytes, png_bomb
from tests.repairs.test_submit import assert_error


async def post_file(world: World, data: bytes, name: str = "photo", who=None):
    return await world.client.post("/uploads", headers=who or world.owner, files={"file": (name, data, "application/octet-stream")})


async def test_jpeg_png_webp_and_heic_are_accepted_by_content(world: World):
    heic = io.BytesIO()
    pillow_heif.register_heif_opener()
    Image.new("RGB", (48, 32), "green").save(heic, format="HEIF")
    for data, content_type in (
        (image_bytes("JPEG"), "image/jpeg"),
        (image_bytes("PNG"), "image/png"),
        (image_bytes("WEBP"), "image/webp"),
        (heic.getvalue(), "image/jpeg"),  # iPhone photos come back as JPEG
    ):
        r = await post_file(world, data)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["content_type"] == content_type and body["url"] == f"/api/v1/uploads/{body['id']}"
        got = await world.client.get(f"/uploads/{body['id']}", headers=world.owner)
        assert got.status_code == 200 and got.headers["content-type"] == content_type
        assert Image.open(io.BytesIO(got.content)).size in ((32, 24), (48, 32))


async def test_gps_location_is_stripped_and_other_exif_kept(world: World):
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}
    raw = image_bytes("JPEG", exif=exif)
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)
    r = await post_file(world, raw)
    stored = (await world.client.get(f"/uploads/{r.json()['id']}", headers=world.owner)).content
    kept = Image.open(io.BytesIO(stored)).getexif()
    assert kept.get(0x010F) == "Apple" and not kept.get_ifd(0x8825) and 0x8825 not in kept


async def test_orientation_is_applied_so_the_photo_stays_upright(world: World):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    r = await post_file(world, image_bytes("JPEG", size=(40, 20), exif=exif))
    assert (r.json()["width"], r.json()["height"]) == (20, 40)
    stored = Image.open(io.BytesIO((await world.client.get(f"/uploads/{r.json()['id']}", headers=world.owner)).content))
    assert stored.size == (20, 40) and stored.getexif().get(0x0112) is None


async def test_xmp_metadata_with_a_location_is_dropped(world: World):
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>31,14.0N</exif:GPSLatitude></x:xmpmeta>'
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buf, format="JPEG", xmp=xmp)
    assert b"GPSLatitude" in buf.getvalue()
    r = await post_file(world, buf.getvalue())
    stored = (await world.client.get(f"/uploads/{r.json()['id']}", headers=world.owner)).content
    assert b"GPSLatitude" not in stored


async def test_bad_files_are_refused(world: World, tmp_path):
    assert_error(await post_file(world, b"GIF89a" + b"\x00" * 100), 400, "unsupported_image")
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    assert_error(await post_file(world, gif.getvalue(), "x.jpg"), 400, "unsupported_image")
    assert_error(await post_file(world, b"%PDF-1.4 not an image", "x.png"), 400, "unsupported_image")
    assert_error(await post_file(world, image_bytes("PNG")[:60]), 400, "unsupported_image")  # truncated
    assert_error(await post_file(world, png_bomb()), 400, "image_too_big")
    assert_error(await post_file(world, b""), 400)
    big = b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024)
    r = await post_file(world, big)
    assert r.status_code == 413 and r.json()["error"]["message"]
    assert not list((tmp_path / "uploads").glob("*")) or all(
        p.stat().st_size < 1024 * 1024 for p in (tmp_path / "uploads").glob("*")
    )


async def test_photos_are_served_only_to_those_who_may_see_the_ticket(world: World):
    photo = await world.upload(world.owner)
    assert_error(await world.client.get(f"/uploads/{photo}", headers=world.family), 404, "upload_not_found")
    await world.ticket(photo_ids=[photo])
    for who in (world.owner, world.family, world.manager):
        assert (await world.client.get(f"/uploads/{photo}", headers=who)).status_code == 200
    for who in (world.stranger, world.crew):
        assert_error(await world.client.get(f"/uploads/{photo}", headers=who), 404)
    assert (await world.client.get(f"/uploads/{photo}")).status_code == 401


async def test_lists_for_owner_crew_and_manager(world: World, app):
    from tests import identity_events as ie
    from tests.support import auth, token

    mine = await world.ticket()
    app.state.clock.advance(seconds=1)
    family_public = await world.ticket(world.family, room_id=..., location="东门道闸", category="security", kind="complaint", photo_ids=[])
    app.state.clock.advance(seconds=1)
    neighbour_b = await ie.binding(app, world.cid, (await ie.room(app, world.cid, room_no="902"))["room_id"])
    neighbour = auth(token(neighbour_b["account_id"]))
    theirs = await world.ticket(neighbour, room_id=neighbour_b["room_id"], category="electricity")
    await world.drive(mine["id"], "assigned")

    async def ids(who, **params) -> list[str]:
        r = await world.client.get("/repairs", headers=who, params=params)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert await ids(world.owner) == [mine["id"]]
    assert await ids(world.family) == [family_public["id"], mine["id"]]  # own + household's
    assert await ids(neighbour) == [theirs["id"]]
    assert await ids(world.crew, assignee="me") == [mine["id"]]
    assert await ids(world.crew2, assignee="me") == []
    assert await ids(world.crew, community_id=world.cid) == [mine["id"]]  # a crew sees its queue only
    everything = await ids(world.manager, community_id=world.cid)
    assert everything == [theirs["id"], family_public["id"], mine["id"]]
    assert await ids(world.manager, community_id=world.cid, status="assigned") == [mine["id"]]
    assert await ids(world.manager, community_id=world.cid, category="security") == [family_public["id"]]
    assert await ids(world.manager, community_id=world.cid, assignee=world.crew_id) == [mine["id"]]
    assert await ids(world.manager, community_id=world.cid, overdue=False) == everything
    t0 = app.state.clock.now
    assert await ids(world.manager, community_id=world.cid, **{"from": (t0 - timedelta(hours=1)).isoformat(), "to": (t0 - timedelta(seconds=2)).isoformat()}) == []
    assert await ids(world.manager, community_id=world.cid, **{"from": (t0 - timedelta(seconds=2)).isoformat()}) == everything
    # Another community's manager sees none of it, asking for this community or not.
    from tests.support import manager_token

    outsider = auth(manager_token("elsewhere"))
    assert await ids(outsider, community_id=world.cid) == []
    r = await world.client.get("/repairs", headers=world.manager, params={"community_id": world.cid, "from": "2026-11-25T00:00:00"})
    assert_error(r, 400, "naive_datetime")
    assert_error(await world.client.get("/repairs", headers=world.manager, params={"status": "lost"}), 422)


async def test_cursor_pagination_walks_every_ticket_once(world: World, app):
    made = []
    for i in range(5):
        made.append((await world.ticket(category=["water", "electricity", "door_window", "elevator", "other"][i]))["id"])
        app.state.clock.advance(seconds=1 if i % 2 else 0)  # ties on created_at too
    seen, cursor = [], None
    while True:
        params = {"community_id": world.cid, "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await world.client.get("/repairs", headers=world.manager, params=params)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5
    assert_error(await world.client.get("/repairs", headers=world.manager, params={"cursor": "garbage"}), 400, "invalid_cursor")


async def test_statistics_for_a_period(world: World, app):
    clock = app.state.clock
    start = clock.now
    a = (await world.ticket())["id"]
    b = (await world.ticket(category="electricity"))["id"]
    c = (await world.ticket(category="elevator"))["id"]
    clock.advance(minutes=2)
    await world.ok(world.manager, a, "accept")
    clock.advance(minutes=8)
    await world.ok(world.manager, b, "accept")  # 10 min: acknowledge breached
    await world.ok(world.owner, c, "cancel")
    from services.repairs.scheduler import sweep

    await sweep(app)
    for tid in (a, b):
        await world.ok(world.manager, tid, "assign", assignee_id=world.crew_id)
        await world.ok(world.crew, tid, "start")
    clock.advance(minutes=50)
    await world.ok(world.crew, a, "resolve", photo_ids=[await world.upload(world.crew)])
    clock.advance(minutes=60)
    await world.ok(world.crew, b, "resolve", photo_ids=[await world.upload(world.crew)])
    await world.ok(world.owner, a, "confirm", rating=5)
    await world.ok(world.owner, b, "reopen")
    await world.ok(world.crew, b, "start")
    await world.ok(world.crew, b, "resolve", photo_ids=[await world.upload(world.crew)])
    await world.ok(world.owner, b, "confirm", rating=2, comment="修了两次")
    clock.advance(days=40)
    await world.ticket()  # outside the period

    params = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    r = await world.client.get(f"/communities/{world.cid}/repairs/stats", headers=world.manager, params=params)
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["total"] == 3 and s["from"] == "2026-11-25T02:00:00Z"
    assert s["by_status"]["closed"] == 2 and s["by_status"]["cancelled"] == 1 and s["by_status"]["submitted"] == 0
    assert s["by_category"] == {"electricity": 1, "elevator": 1, "water": 1}
    assert s["time_to_accept"] == {"count": 2, "median_seconds": 120, "p90_seconds": 600}
    assert s["time_to_resolve"] == {"count": 2, "median_seconds": 3600, "p90_seconds": 7200}
    assert s["overdue_share"] == round(1 / 3, 4)  # b was accepted 10 minutes after submit
    assert s["satisfaction_average"] == 3.5 and s["rated"] == 2
    assert s["reopen_rate"] == 0.5
    everything = (await world.client.get(f"/communities/{world.cid}/repairs/stats", headers=world.manager)).json()
    assert everything["total"] == 4
    for who in (world.owner, world.crew):
        assert_error(await world.client.get(f"/communities/{world.cid}/repairs/stats", headers=who), 404)
