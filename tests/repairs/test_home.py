"""The repairs part of the home screen (services/repairs/home.py): the caller's and their
household's tickets still under way, newest first, with their status."""

from __future__ import annotations

from tests.repairs.factories import World
from tests.support import assert_error


async def test_home_part_lists_the_households_tickets_under_way_only(world: World, app):
    mine = await world.ticket()
    app.state.clock.advance(seconds=1)
    done = await world.ticket(category="electricity")
    await world.drive(done["id"], "closed")
    app.state.clock.advance(seconds=1)
    family = await world.ticket(world.family, category="elevator")
    await world.drive(mine["id"], "assigned")

    async def home(who) -> list[tuple[str, str]]:
        r = await world.client.get("/internal/home", params={"community_id": world.cid}, headers=who)
        assert r.status_code == 200, r.text
        return [(t["id"], t["status"]) for t in r.json()["open_tickets"]]

    # The household's: the family member's report shows on the owner's home too; closed ones not.
    household = [(family["id"], "submitted"), (mine["id"], "assigned")]
    assert await home(world.owner) == household
    assert await home(world.family) == household
    other = await world.client.get("/internal/home", params={"community_id": "elsewhere"}, headers=world.owner)
    assert other.json()["open_tickets"] == []
    assert_error(await world.client.get("/internal/home", headers=world.owner), 422)
