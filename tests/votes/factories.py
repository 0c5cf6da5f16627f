"""Small factories for the votes tests: the app, a community with rooms and owners, a vote or
a survey, ballots, and counts of what got stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from services.common.events.models import OutboxEvent
from tests.common.identity_replica import factories as ie
from tests.support import auth, manager_token, running_app, token

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def votes_app(database_urls: dict[str, str]) -> Any:
    """The votes app with its scheduler off (tests run `scheduler.tick` themselves)."""
    return running_app("votes", database_urls["votes"], scheduler_interval_seconds=0)


@dataclass
class Owner:
    account_id: str
    room_id: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)


async def owner_of(app: Any, cid: str, room: dict[str, Any], relation: str = "owner", account_id: str | None = None) -> Owner:
    bound = await ie.binding(app, cid, room["room_id"], account_id or str(uuid.uuid4()), relation=relation)
    tok = token(bound["account_id"])
    return Owner(bound["account_id"], room["room_id"], tok, auth(tok))


def manager(cid: str) -> dict[str, str]:
    return auth(manager_token(cid))


def vote_body(cid: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "community_id": cid,
        "kind": "vote",
        "title": "关于更换电梯的表决",
        "description": "使用维修资金更换 1 栋电梯",
        "motions": [{"title": "更换电梯", "matter": "major"}, {"title": "选聘施工单位", "matter": "ordinary"}],
        "closes_at": (T0 + timedelta(days=7)).isoformat(),
    }
    body.update(overrides)
    return body


def survey_body(cid: str) -> dict[str, Any]:
    """A survey with a single-choice, a multiple-choice (at most 2) and a free-text question."""
    return vote_body(
        cid,
        kind="survey",
        motions=None,
        questions=[
            {"title": "单选", "type": "single", "options": ["甲", "乙"]},
            {"title": "多选", "type": "multiple", "options": ["一", "二", "三"], "max_choices": 2},
            {"title": "建议", "type": "text"},
        ],
    )


async def create_vote(client: httpx.AsyncClient, cid: str, **overrides: Any) -> dict[str, Any]:
    r = await client.post("/votes", json=vote_body(cid, **overrides), headers=manager(cid))
    assert r.status_code == 201, r.text
    return r.json()


async def open_vote(client: httpx.AsyncClient, cid: str, vote: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(f"/votes/{vote['id']}/open", headers=manager(cid))
    assert r.status_code == 200, r.text
    return r.json()


def all_motions(vote: dict[str, Any], *choices: str) -> list[dict[str, Any]]:
    """Answers for every motion, in order (the last choice repeats)."""
    items = vote["items"]
    picks = list(choices) + [choices[-1]] * (len(items) - len(choices))
    return [{"item_id": i["id"], "option_ids": [c]} for i, c in zip(items, picks, strict=False)]


async def cast(client: httpx.AsyncClient, vote: dict[str, Any], owner: Owner, *choices: str, room_id: str | None = None) -> httpx.Response:
    return await client.post(
        f"/votes/{vote['id']}/ballots",
        json={"room_id": room_id or owner.room_id, "answers": all_motions(vote, *choices)},
        headers=owner.headers,
    )


async def count_rows(app: Any, model: Any, *where: Any) -> int:
    async with app.state.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def outbox_events(app: Any, vote_id: str) -> list[OutboxEvent]:
    """The events the vote emitted, oldest first."""
    async with app.state.sessionmaker() as s:
        rows = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.ordering_key == vote_id).order_by(OutboxEvent.created_at)
        )
        return list(rows.all())
