"""Submitting tickets (services/repairs/tickets.py): the seed's required format, where one
may report, duplicate suggestions, and bad input that changes nothing."""

from __future__ import annotations

import uuid

import pytest

from tests.common.identity_replica import factories as ie
from tests.repairs.factories import World
from tests.support import assert_error, auth, token


async def test_owner_reports_a_leak_in_their_room_and_the_household_sees_it(world: World):
    t = await world.ticket(urgent=True)
    assert t["status"] == "submitted" and t["place"] == "3栋502" and t["urgent"] is True
    assert t["department"] == "repair" and t["content_flagged"] is False
    assert [e["action"] for e in t["timeline"]] == ["submit"]
    assert t["allowed_actions"] == ["cancel", "urge"]
    assert t["arrive_due_at"] == "2026-11-25T02:30:00Z"  # urgent: 30 minutes
    [event] = await world.events("repairs.ticket.created")
    assert event == {
        "community_id": world.cid, "ticket_id": t["id"], "reporter_id": world.owner_id,
        "room_id": world.room_id, "kind": "repair", "category": "water", "urgent": True,
        "status": "submitted", "department": "repair",
    }
    for who in (world.owner, world.family, world.manager):
        r = await world.client.get(f"/repairs/{t['id']}", headers=who)
        assert r.status_code == 200 and r.json()["id"] == t["id"]
    for who in (world.stranger, world.crew):
        assert_error(await world.client.get(f"/repairs/{t['id']}", headers=who), 404, "ticket_not_found")


async def test_public_area_report_needs_a_place_and_residency_in_the_community(world: World):
    t = await world.ticket(room_id=..., location="3号楼电梯", category="elevator", kind="complaint", photo_ids=[])
    assert t["room_id"] is None and t["place"] == "3号楼电梯"
    # The family member sees their own household's in-home tickets, not others' public ones.
    assert (await world.client.get(f"/repairs/{t['id']}", headers=world.family)).status_code == 404


BAD_INPUT = [
    # (what, fields, status, code)
    ("room not verified on", {"room_id": "other-room"}, 403, "room_not_verified"),
    ("foreign community", {"community_id": "c-foreign", "room_id": ..., "location": "大门"}, 404, "community_not_found"),
    ("unknown category", {"category": "spaceship"}, 422, "unknown_category"),
    ("10 photos", {"photo_ids": [str(uuid.uuid4()) for _ in range(10)]}, 422, "validation_error"),
    ("empty description", {"description": "   "}, 422, "validation_error"),
    ("10,000-character description", {"description": "漏" * 10_000}, 422, "validation_error"),
    ("bad phone", {"contact_phone": "12345"}, 422, "validation_error"),
    ("no phone yet", {"contact_phone": ...}, 422, "phone_required"),
    ("repair without a picture", {"photo_ids": []}, 422, "photo_required"),
    ("no place", {"room_id": ...}, 422, "place_required"),
    ("room and public place", {"location": "大门"}, 422, "place_ambiguous"),
    ("photo that is not there", {"photo_ids": [str(uuid.uuid4())]}, 422, "photo_not_found"),
    ("unknown kind", {"kind": "wish"}, 422, "validation_error"),
    ("unknown field", {"priority": 1}, 422, "validation_error"),
]


@pytest.mark.parametrize(("what", "fields", "status", "code"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
async def test_bad_input_is_refused_and_changes_nothing(world: World, what, fields, status, code):
    # A photo is uploaded first so that only the ticket itself is under test.
    before = await world.counts()
    r = await world.submit(**fields)
    assert_error(r, status, code)
    assert await world.counts() == before


async def test_the_phone_defaults_to_the_one_given_last_time(world: World):
    await world.ticket(contact_phone="13912345678")
    t = await world.ticket(category="electricity", contact_phone=...)
    assert t["contact_phone"] == "13912345678"


async def test_someone_elses_photo_cannot_be_attached(world: World):
    theirs = await world.upload(world.family)
    assert_error(await world.submit(photo_ids=[theirs]), 422, "photo_not_found")
    # ... nor one already used on another ticket.
    mine = await world.upload(world.owner)
    await world.ticket(photo_ids=[mine])
    assert_error(await world.submit(photo_ids=[mine], category="electricity"), 422, "photo_not_found")


async def test_duplicates_are_suggested_for_the_same_room_or_a_similar_place(world: World, app):
    first = await world.ticket()
    again = await world.ticket(world.family, description="家里水管还在漏")
    assert [d["id"] for d in again["possible_duplicates"]] == [first["id"]]
    assert set(again["possible_duplicates"][0]) == {"id", "category", "place", "status", "status_label", "created_at"}
    other_category = await world.ticket(category="electricity")
    assert other_category["possible_duplicates"] == []

    lift = await world.ticket(room_id=..., location="3号楼 电梯", category="elevator")
    neighbour = await ie.binding(app, world.cid, (await ie.room(app, world.cid, room_no="601"))["room_id"])
    nb = auth(token(neighbour["account_id"]))
    similar = await world.ticket(nb, room_id=..., location="3号楼电梯间", category="elevator")
    assert [d["id"] for d in similar["possible_duplicates"]] == [lift["id"]]
    elsewhere = await world.ticket(nb, room_id=..., location="5号楼电梯", category="elevator")
    assert elsewhere["possible_duplicates"] == []

    app.state.clock.advance(hours=49)
    later = await world.ticket(world.family, description="又漏水了")
    assert later["possible_duplicates"] == []


async def test_closed_tickets_are_not_suggested_as_duplicates(world: World):
    first = await world.ticket()
    await world.ok(world.owner, first["id"], "cancel")
    assert (await world.ticket())["possible_duplicates"] == []
