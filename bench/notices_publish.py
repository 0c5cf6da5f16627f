"""Benchmark: publish one notice to 20,000 households and measure (1) how long the publish
request takes and (2) how long until every inbox entry is written and every push sent.

Run: `python -m bench.notices_publish [--households N] [--consent-share 0.25]
[--wechat standin|instant] [--database-url URL]`.

Setup writes the identity replica (rooms, one verified owner with an openid each) and the
consents in bulk, since the figure of interest is publishing, not seeding. The notice goes
through review before the clock starts; the timed request is `POST /notices/{id}/publish`.
Pushes go by default to a transport that answers errcode 0 at once (WeChat's own work is not
ours to count), or with `--wechat standin` to the WeChat stand-in in process
(httpx.ASGITransport), whose request handling then shares our CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text

from services.common.db import utcnow
from services.common.identity_replica.models import ReplicaBinding, ReplicaRoom
from services.common.migrations import upgrade
from services.common.tokens import AccessClaims, SigningKey, issue_access_token, jwks_document
from services.notices.app import create_app
from services.notices.models import FanoutJob, InboxEntry, PushConsent, PushMessage, PushRecipient
from services.notices.rules import SHANGHAI
from services.notices.settings import Settings
from wechat_standin.app import create_app as create_standin

ROOMS_PER_BUILDING = 500


def instant_wechat() -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "bench", "expires_in": 7200})
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    return httpx.MockTransport(answer)


async def seed(
    app: Any, community_id: str, households: int, consent_share: float, template: str
) -> list[str]:
    """Rooms in buildings of 500, one verified owner each; openids; consents for a share."""
    now = utcnow()
    rooms, bindings, recipients, consents, openids = [], [], [], [], []
    every = max(1, round(1 / consent_share)) if consent_share > 0 else 0
    for i in range(households):
        room_id, account_id = str(uuid.uuid4()), str(uuid.uuid4())
        building = i // ROOMS_PER_BUILDING + 1
        room_no = f"{(i % ROOMS_PER_BUILDING) // 4 + 1}{i % 4 + 1:02d}"
        rooms.append(
            {
                "room_id": room_id,
                "community_id": community_id,
                "building_id": f"b{building}",
                "building_name": f"{building}栋",
                "unit": None,
                "room_no": room_no,
                "label": f"{building}栋{room_no}",
                "area": "89.50",
                "state": "delivered",
                "owner_key": f"k{i}",
                "owners": [{"owner_key": f"k{i}", "name": "业主", "phone_masked": "138****0000"}],
                "updated_at": now,
            }
        )
        bindings.append(
            {
                "binding_id": str(uuid.uuid4()),
                "community_id": community_id,
                "account_id": account_id,
                "room_id": room_id,
                "relation": "owner",
                "display_name": f"{building}栋{room_no}业主",
                "parent_binding_id": None,
                "active": True,
                "updated_at": now,
            }
        )
        openid = f"o-{account_id}"
        recipients.append({"account_id": account_id, "openid": openid, "updated_at": now})
        if every and i % every == 0:
            consents.append(
                {
                    "account_id": account_id,
                    "template_id": template,
                    "remaining": 1,
                    "updated_at": now,
                }
            )
            openids.append(openid)
    async with app.state.sessionmaker() as session:
        for model, rows in (
            (ReplicaRoom, rooms),
            (ReplicaBinding, bindings),
            (PushRecipient, recipients),
            (PushConsent, consents),
        ):
            for start in range(0, len(rows), 2000):
                await session.execute(insert(model), rows[start : start + 2000])
        await session.commit()
    # Planner statistics, as autovacuum would have them for tables this size in production
    # (without them PostgreSQL plans the audience query as if the tables were empty).
    async with app.state.engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()
    return openids


async def work_left(app: Any) -> int:
    async with app.state.sessionmaker() as session:
        jobs = await session.scalar(
            select(func.count()).select_from(FanoutJob).where(FanoutJob.status == "pending")
        )
        pushes = await session.scalar(
            select(func.count()).select_from(PushMessage).where(PushMessage.status == "pending")
        )
        return int(jobs or 0) + int(pushes or 0)


async def run(
    households: int, consent_share: float, wechat: str, database_url: str | None
) -> dict[str, Any]:
    key = SigningKey.generate()
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'notices.db'}"
        await asyncio.to_thread(upgrade, "notices", url)
        standin = create_standin()
        transport = httpx.ASGITransport(app=standin) if wechat == "standin" else instant_wechat()
        settings = Settings(
            database_url=url,
            jwks_json=json.dumps(jwks_document([key])),
            worker_interval_seconds=0.02,
            wechat_api_base="http://wechat.bench",
            log_level="WARNING",
        )
        app = create_app(settings, wechat_transport=transport)
        async with app.router.lifespan_context(app):
            # Daytime in Shanghai, so no push is held for quiet hours.
            app.state.clock.set(datetime.now(SHANGHAI).replace(hour=12).astimezone(UTC))
            cid = str(uuid.uuid4())
            template = settings.wechat_template_notice
            openids = await seed(app, cid, households, consent_share, template)
            for openid in openids:
                standin.state.standin.add_consent(openid, template)

            def bearer(account: str) -> dict[str, str]:
                claims = AccessClaims(
                    account_id=account, staff={cid: {"role": "manager", "department": None}}
                )
                return {"Authorization": "Bearer " + issue_access_token(key, claims)}

            author, reviewer = bearer(str(uuid.uuid4())), bearer(str(uuid.uuid4()))
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            ) as client:
                body = {
                    "community_id": cid,
                    "title": "小区停水通知",
                    "body": "明日9:00-12:00停水检修，请提前储水。",
                    "category": "maintenance",
                    "audience": {"kind": "community"},
                }
                nid = (await client.post("/notices", json=body, headers=author)).json()["id"]
                await client.post(f"/notices/{nid}/submit", headers=author)
                await client.post(f"/notices/{nid}/approve", headers=reviewer)
                started = time.perf_counter()
                response = await client.post(f"/notices/{nid}/publish", headers=author)
                publish_ms = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.text
                while await work_left(app):
                    await asyncio.sleep(0.05)
                total_s = time.perf_counter() - started
                started = time.perf_counter()
                receipts = await client.get(f"/notices/{nid}/receipts", headers=reviewer)
                receipts_ms = (time.perf_counter() - started) * 1000
                assert receipts.json()["targeted"] == households, receipts.text
            async with app.state.sessionmaker() as session:
                entries = await session.scalar(select(func.count()).select_from(InboxEntry))
                sent = await session.scalar(
                    select(func.count())
                    .select_from(PushMessage)
                    .where(PushMessage.status == "sent")
                )
        delivered = len(standin.state.standin.messages) if wechat == "standin" else sent
    return {
        "households": households,
        "database": url.split(":", 1)[0],
        "publish_ms": publish_ms,
        "all_work_s": total_s,
        "receipts_ms": receipts_ms,
        "inbox_entries": entries,
        "pushes_sent": sent,
        "pushes_at_wechat": delivered,
        "wechat": wechat,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20_000)
    # One-time consents: only owners who accepted the notice template and have not used that
    # consent yet get a push; a tenth of the households is the default assumption.
    parser.add_argument("--consent-share", type=float, default=0.1)
    parser.add_argument("--wechat", choices=("standin", "instant"), default="instant")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    result = asyncio.run(run(args.households, args.consent_share, args.wechat, args.database_url))
    print(
        f"notices publish to {result['households']} households: "
        f"publish request {result['publish_ms']:.0f} ms (target <= 200 ms); "
        f"all inbox and push work {result['all_work_s']:.2f} s (target <= 5 s); "
        f"{result['inbox_entries']} inbox entries, {result['pushes_sent']} pushes sent "
        f"(consent share {args.consent_share:.0%}, {result['wechat']} WeChat, {result['database']}); "
        f"receipts of that notice {result['receipts_ms']:.0f} ms"
    )


if __name__ == "__main__":
    main()
