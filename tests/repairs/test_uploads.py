"""Photos (services/repairs/uploads.py, images.py): formats by content, size, bombs, EXIF
location, and who may fetch them."""

from __future__ import annotations

import io

import pillow_heif
from PIL import Image

from tests.repairs.factories import World, image_bytes, png_bomb
from tests.support import assert_error


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
