"""Votes through the gateway to the real votes process: a manager drafts, edits and tries to
open a vote; owners and other communities see nothing; bad input is refused in Chinese.

Rooms reach votes only through identity's events; until their delivery is wired into the
stack, opening answers `empty_electorate` here, and ballots and tallies are covered by
tests/votes/ (the service's real app and handlers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from scripts.stack import Stack


def _bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def test_manager_drafts_and_edits_a_vote_through_the_gateway(stack: Stack, gateway: httpx.Client) -> None:
    cid = str(uuid.uuid4())
    manager = _bearer(stack.issue_token(f"m-{uuid.uuid4().hex}", staff={cid: {"role": "manager", "department": None}}))
    owner = _bearer(stack.issue_token(f"o-{uuid.uuid4().hex}"))
    closes = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    body = {
        "community_id": cid,
        "kind": "vote",
        "title": "关于使用维修资金更换电梯",
        "motions": [{"title": "更换电梯", "matter": "major"}],
        "closes_at": closes,
    }
    created = gateway.post("/api/v1/votes", json=body, headers=manager)
    assert created.status_code == 201, created.text
    vote = created.json()
    assert vote["status"] == "draft" and vote["items"][0]["matter"] == "major"

    edited = gateway.patch(f"/api/v1/votes/{vote['id']}", json={"title": "更换 1 栋电梯"}, headers=manager)
    assert edited.status_code == 200 and edited.json()["title"] == "更换 1 栋电梯"
    listed = gateway.get(f"/api/v1/votes?community_id={cid}", headers=manager).json()
    assert [v["id"] for v in listed["items"]] == [vote["id"]]
    settings = gateway.get(f"/api/v1/votes/settings/{cid}", headers=manager)
    assert settings.json() == {"multi_room_headcount": "unanimous", "non_voters_follow_majority": False}

    # Not the owner's to see (a draft), nor another community's manager's.
    assert gateway.get(f"/api/v1/votes/{vote['id']}", headers=owner).status_code == 404
    other = _bearer(stack.issue_token("m-other", staff={str(uuid.uuid4()): {"role": "manager", "department": None}}))
    assert gateway.post(f"/api/v1/votes/{vote['id']}/open", headers=other).status_code == 404

    no_motions = gateway.post("/api/v1/votes", json={**body, "motions": []}, headers=manager)
    assert no_motions.status_code == 422 and not no_motions.json()["error"]["message"].isascii()
    opened = gateway.post(f"/api/v1/votes/{vote['id']}/open", headers=manager)
    assert opened.status_code == 409 and opened.json()["error"]["code"] == "empty_electorate"
