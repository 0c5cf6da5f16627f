"""Photos (services/repairs/uploads.py, services/common/images.py): formats by content, size, bombs, EXIF
location, and who may fetch them; who may upload, how many, how many decoded at once;
unattached photos deleted."""

from __future__ import annotations

import asyncio
import io
import threading
import time

import pillow_heif
import pytest
from PIL import Image, ImageCms, ImageFile, PngImagePlugin

from services.repairs.scheduler import sweep
from services.repairs.settings import Settings
from tests.common.identity_replica import factories as ie
from tests.repairs.factories import World, image_bytes, png_bomb
from tests.support import admin_token, assert_error, auth, manager_token, token


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


def _with_metadata(fmt: str) -> bytes:
    """A photo carrying what a phone puts in one: EXIF (camera, serial, time, GPS), XMP, a
    comment or text chunk, and a colour profile."""
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0xA431] = "SERIAL-SECRET"  # BodySerialNumber
    exif[0x0132] = "2026:11:25 10:00:00"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><x:note>XMP-SECRET</x:note></x:xmpmeta>'
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    options: dict = {"exif": exif.tobytes(), "icc_profile": icc}
    if fmt == "JPEG":
        options |= {"comment": b"COMMENT-SECRET", "xmp": xmp}
    elif fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "TEXT-SECRET")
        info.add_itxt("XML:com.adobe.xmp", xmp.decode())
        options["pnginfo"] = info
    else:
        options["xmp"] = xmp
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buf, format=fmt, **options)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
async def test_all_metadata_is_stripped_but_the_colour_profile(world: World, fmt):
    raw = _with_metadata(fmt)
    assert b"SECRET" in raw and Image.open(io.BytesIO(raw)).getexif()
    r = await post_file(world, raw)
    assert r.status_code == 201, r.text
    stored = (await world.client.get(f"/uploads/{r.json()['id']}", headers=world.owner)).content
    assert b"SECRET" not in stored and b"Apple" not in stored and b"xmpmeta" not in stored
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif() and "exif" not in image.info and "comment" not in image.info
    # The colour profile stays: it says how the colours are meant, nothing about the person.
    assert image.info.get("icc_profile")


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


async def test_photo_content_is_checked_not_its_name(world: World):
    r = await world.client.post(
        "/uploads", headers=world.owner, files={"file": ("leak.jpg", b"not an image at all", "image/jpeg")}
    )
    assert_error(r, 400, "unsupported_image")
    jpeg = image_bytes("JPEG")
    r = await world.client.post("/uploads", headers=world.owner, files={"file": ("x.txt", jpeg, "text/plain")})
    assert r.status_code == 201 and r.json()["content_type"] == "image/jpeg"


async def test_photos_are_served_only_to_those_who_may_see_the_ticket(world: World):
    photo = await world.upload(world.owner)
    assert_error(await world.client.get(f"/uploads/{photo}", headers=world.family), 404, "upload_not_found")
    await world.ticket(photo_ids=[photo])
    for who in (world.owner, world.family, world.manager):
        assert (await world.client.get(f"/uploads/{photo}", headers=who)).status_code == 200
    for who in (world.stranger, world.crew):
        assert_error(await world.client.get(f"/uploads/{photo}", headers=who), 404)
    assert (await world.client.get(f"/uploads/{photo}")).status_code == 401


async def test_uploading_takes_a_verified_room_or_a_staff_role(world: World, app, tmp_path):
    moved_out = await ie.binding(app, world.cid, world.room_id, relation="tenant")
    await ie.revoke(app, moved_out)
    for who in (world.stranger, auth(token(moved_out["account_id"]))):
        r = await post_file(world, image_bytes(), who=who)
        assert_error(r, 403, "upload_not_allowed")
    assert not (tmp_path / "uploads").exists()  # nothing decoded, nothing kept
    for who in (world.owner, world.family, world.crew, world.manager,
                auth(manager_token("another-community")), auth(admin_token())):
        assert (await post_file(world, image_bytes(), who=who)).status_code == 201


async def test_images_over_25_megapixels_are_refused_before_decoding(world: World):
    r = await post_file(world, png_bomb(5001, 5000))  # its header claims 25.005 Mpx
    body = assert_error(r, 400, "image_too_big")
    assert body["details"] == {"max_pixels": 25_000_000}
    assert "2500 万像素" in body["message"]


async def test_twenty_parallel_uploads_decode_at_most_two_at_a_time(world: World, monkeypatch):
    """Peak decodes in flight, counted around Pillow's own decoder (not our code)."""
    in_flight, peak, lock = 0, 0, threading.Lock()
    decode = ImageFile.ImageFile.load

    def counted(self):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            time.sleep(0.02)  # a decode takes a while: long enough for overlaps to show
            return decode(self)
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    files = [image_bytes("JPEG", size=(640, 480)) for _ in range(18)] + [b"not an image", png_bomb()]
    answers = await asyncio.gather(*(post_file(world, f) for f in files))
    assert [a.status_code for a in answers] == [201] * 18 + [400, 400]
    assert [a.json()["error"]["code"] for a in answers[18:]] == ["unsupported_image", "image_too_big"]
    assert peak == world.app.state.settings.image_decode_concurrency == 2


async def test_an_account_uploads_at_most_its_daily_quota(world: World, app):
    app.state.settings.max_uploads_per_day = 3
    for _ in range(3):
        assert (await post_file(world, image_bytes())).status_code == 201
    r = await post_file(world, image_bytes())
    assert assert_error(r, 429, "upload_quota_exceeded")["details"] == {"per_day": 3}
    assert (await post_file(world, image_bytes(), who=world.family)).status_code == 201
    app.state.clock.advance(hours=24)
    assert (await post_file(world, image_bytes())).status_code == 201
    assert Settings().max_uploads_per_day == 200  # the default


async def test_parallel_uploads_cannot_outrun_the_daily_quota(world: World, app, tmp_path):
    app.state.settings.max_uploads_per_day = 3
    answers = await asyncio.gather(*(post_file(world, image_bytes()) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [201] * 3 + [429] * 5
    assert len(list((tmp_path / "uploads").iterdir())) == 3  # no file kept for a refused one


async def test_photos_left_unattached_for_a_day_are_deleted_rows_and_files(world: World, app, tmp_path):
    loose = await world.upload(world.owner)
    used = await world.ticket()
    used_photo = used["photos"][0]["id"]
    app.state.clock.advance(hours=23)
    young = await world.upload(world.owner)
    assert (await sweep(app))["uploads_deleted"] == 0
    app.state.clock.advance(hours=1)
    # Past its day, a loose photo can no longer be attached, even before the sweep runs.
    late = await world.submit(photo_ids=[loose])
    assert_error(late, 422, "photo_not_found")
    assert (await sweep(app))["uploads_deleted"] == 1
    files = {p.stem for p in (tmp_path / "uploads").iterdir()}
    assert loose not in files and {used_photo, young} <= files
    assert_error(await world.client.get(f"/uploads/{loose}", headers=world.owner), 404, "upload_not_found")
    for photo in (used_photo, young):
        assert (await world.client.get(f"/uploads/{photo}", headers=world.owner)).status_code == 200
    assert (await sweep(app))["uploads_deleted"] == 0
