"""Pictures and PDF files of notices (services/notices/attachments.py): cleaned like repair
photos, PDFs checked by content and size, only before publishing, served to those the
notice targets with safe headers."""

from __future__ import annotations

from PIL import Image

from tests.notices.factories import Community, notice_body, notices_app
from tests.repairs.factories import image_bytes, png_bomb
from tests.support import assert_error, client_for

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0110] = "PhoneModel"
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0)}
    return exif


async def _draft(client, c: Community) -> str:
    r = await client.post("/notices", json=notice_body(c), headers=c.manager)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _publish(client, c: Community, nid: str) -> None:
    assert (await client.post(f"/notices/{nid}/submit", headers=c.manager)).status_code == 200
    assert (await client.post(f"/notices/{nid}/approve", headers=c.other_manager)).status_code == 200
    assert (await client.post(f"/notices/{nid}/publish", headers=c.manager)).status_code == 200


async def test_picture_is_cleaned_pdf_kept_and_both_served_to_targeted_owners_only(database_urls, tmp_path):
    async with notices_app(database_urls["notices"], files_dir=str(tmp_path)) as app, client_for(app) as client:
        c = Community(app)
        _, owner = await c.member(await c.room("1", "101"))
        _, elsewhere = await c.member(await c.room("2", "201"))
        nid = (await client.post("/notices", json=notice_body(
            c, audience={"kind": "buildings", "building_ids": [c.building_id("1")]}), headers=c.manager)).json()["id"]
        photo = await client.post(f"/notices/{nid}/attachments", headers=c.manager,
                                  files={"file": ("p.jpg", image_bytes("JPEG", exif=_exif_with_gps()), "image/jpeg")})
        assert photo.status_code == 201, photo.text
        assert photo.json()["kind"] == "image" and photo.json()["content_type"] == "image/jpeg"
        pdf = await client.post(f"/notices/{nid}/attachments", headers=c.manager,
                                files={"file": ("../../停水 安排;.pdf", PDF, "text/plain")})
        assert pdf.status_code == 201 and pdf.json()["kind"] == "pdf" and pdf.json()["name"] == "停水 安排.pdf"
        # Owners see nothing before publishing.
        url = f"/notices/{nid}/attachments/{pdf.json()['id']}"
        assert_error(await client.get(url, headers=owner), 404, "attachment_not_found")
        await _publish(client, c, nid)

        detail = (await client.get(f"/notices/{nid}", headers=owner)).json()
        assert [a["kind"] for a in detail["attachments"]] == ["image", "pdf"]
        served = await client.get(url, headers=owner)
        assert served.status_code == 200 and served.content == PDF
        assert served.headers["content-type"] == "application/pdf"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]
        assert served.headers["content-disposition"].startswith("attachment;")
        picture = await client.get(f"/notices/{nid}/attachments/{photo.json()['id']}", headers=owner)
        assert picture.status_code == 200
        with Image.open(__import__("io").BytesIO(picture.content)) as img:
            assert not img.getexif()  # camera and GPS gone
        # Not targeted: it does not exist for them; and nothing changes after publishing.
        assert_error(await client.get(url, headers=elsewhere), 404, "attachment_not_found")
        late = await client.post(f"/notices/{nid}/attachments", headers=c.manager,
                                 files={"file": ("a.pdf", PDF, "application/pdf")})
        assert_error(late, 409, "attachments_locked")


async def test_bad_files_are_refused_in_chinese_and_nothing_is_stored(database_urls, tmp_path):
    async with notices_app(database_urls["notices"], files_dir=str(tmp_path), max_pdf_bytes=1000,
                           max_attachments=2) as app, client_for(app) as client:
        c = Community(app)
        _, owner = await c.member(await c.room())
        nid = await _draft(client, c)

        async def send(name: str, data: bytes, headers=c.manager):
            return await client.post(f"/notices/{nid}/attachments", headers=headers,
                                     files={"file": (name, data, "application/pdf")})

        assert_error(await send("x.pdf", b"MZ\x90\x00 not a pdf"), 400, "unsupported_attachment")
        assert_error(await send("x.pdf", b""), 400, "empty_file")
        assert_error(await send("big.pdf", PDF + b"0" * 1000), 413, "pdf_too_large")
        assert_error(await send("js.pdf", PDF + b"<< /S /JavaScript /JS (app.alert(1)) >>"), 400,
                     "pdf_active_content")
        assert_error(await send("bomb.png", png_bomb()), 400, "image_too_big")
        assert_error(await send("x.pdf", PDF, headers=owner), 404, "notice_not_found")
        assert list(tmp_path.iterdir()) == []
        assert (await send("a.pdf", PDF)).status_code == 201
        assert (await send("b.pdf", PDF)).status_code == 201
        assert_error(await send("c.pdf", PDF), 409, "too_many_attachments")
        # A manager removes one before publishing.
        first = (await client.get(f"/notices/{nid}", headers=c.manager)).json()["attachments"][0]
        r = await client.delete(f"/notices/{nid}/attachments/{first['id']}", headers=c.manager)
        assert r.status_code == 204 and len(list(tmp_path.iterdir())) == 1
