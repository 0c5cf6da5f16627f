"""Factories of the billing tests: the billing app wired to an in-process WeChat Pay stand-in
(and the stand-in's notify back to billing), test merchant keys generated at run time, a
community with rooms and owners, fee items, bills, and paying through the stand-in."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select

from services.billing.devkeys import PayKeys
from services.billing.models import PayNotification
from services.billing.wechatpay import PayCredentials, WeChatPayClient
from tests.common.identity_replica import factories as ie
from tests.support import auth, billing_pay_keys, client_for, manager_token, settings_for, token
from wechat_standin.app import create_app as create_standin
from wechat_standin.settings import StandinSettings

MCHID = "1900000109"
APPID = "wx-standin-app"
# Generated once per test session: RSA key generation is the slow part.
KEYS: PayKeys = billing_pay_keys()


class Switch(httpx.AsyncBaseTransport):
    """The network between the stand-in and billing: `down` refuses connections, as a
    stopped billing service would; `down_for` refuses only that many more (then it is back)."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.down = False
        self.down_for = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down_for > 0:
            self.down_for -= 1
            raise httpx.ConnectError("billing is down", request=request)
        if self.down:
            raise httpx.ConnectError("billing is down", request=request)
        return await self.inner.handle_async_request(request)


@dataclass
class PayWorld:
    app: Any
    standin: Any
    wx: httpx.AsyncClient  # the stand-in's test-only paths
    client: httpx.AsyncClient  # billing
    link: Switch
    cid: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def manager(self) -> dict[str, str]:
        return auth(manager_token(self.cid))


@asynccontextmanager
async def pay_world(database_url: str, **overrides: Any) -> AsyncIterator[PayWorld]:
    overrides.setdefault("scheduler_interval_seconds", 0)
    settings = settings_for(
        "billing",
        database_url,
        wechatpay_api_base="http://wxpay",
        wechatpay_appid=APPID,
        wechatpay_mchid=MCHID,
        wechatpay_merchant_serial=KEYS.merchant_serial,
        wechatpay_merchant_private_key=KEYS.merchant_private_key,
        wechatpay_platform_public_key=KEYS.platform_public_key,
        wechatpay_platform_key_id=KEYS.platform_key_id,
        wechatpay_apiv3_key=KEYS.apiv3_key,
        wechatpay_notify_url="http://billing/payments/wechat/notify",
        **overrides,
    )
    app = importlib.import_module("services.billing.app").create_app(settings)
    link = Switch(app)
    standin = create_standin(
        StandinSettings(
            pay_mchid=MCHID,
            pay_merchant_public_key=KEYS.merchant_public_key,
            pay_platform_private_key=KEYS.platform_private_key,
            pay_platform_key_id=KEYS.platform_key_id,
            pay_apiv3_key=KEYS.apiv3_key,
            pay_notify_retry_seconds=[0.05, 0.05, 0.1, 0.2],
        ),
        # WeChat Pay signs notifies with its own clock; billing checks them against its own.
        clock=lambda: app.state.clock.now().timestamp(),
        pay_transport=link,
    )
    app.state.wechatpay = WeChatPayClient(
        PayCredentials.from_settings(settings),
        base_url="http://wxpay",
        notify_url=settings.wechatpay_notify_url,
        transport=httpx.ASGITransport(app=standin),
    )
    async with app.router.lifespan_context(app), standin.router.lifespan_context(standin):
        async with client_for(app) as client, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=standin), base_url="http://wxpay"
        ) as wx:
            yield PayWorld(app, standin, wx, client, link)


@dataclass
class Owner:
    account_id: str
    room_id: str
    openid: str
    headers: dict[str, str]


async def room(w: PayWorld, **kwargs: Any) -> dict[str, Any]:
    return await ie.room(w.app, w.cid, **kwargs)


async def owner_of(w: PayWorld, room_id: str, relation: str = "owner") -> Owner:
    bound = await ie.binding(w.app, w.cid, room_id, relation=relation)
    openid = "o" + uuid.uuid4().hex[:20]
    tok = token(bound["account_id"], openid=openid)
    return Owner(bound["account_id"], room_id, openid, auth(tok))


async def fee_item(w: PayWorld, **overrides: Any) -> dict[str, Any]:
    body = {
        "code": "wuye",
        "name": "物业费",
        "kind": "per_area",
        "rate_fen": 235,
        "effective_from": "2026-01",
    }
    body.update(overrides)
    r = await w.client.post(f"/communities/{w.cid}/fees/items", json=body, headers=w.manager)
    assert r.status_code == 201, r.text
    return r.json()


async def generate(w: PayWorld, period: str = "2026-12") -> dict[str, Any]:
    r = await w.client.post(f"/communities/{w.cid}/fees/bills/generate", json={"period": period}, headers=w.manager)
    assert r.status_code == 200, r.text
    return r.json()


async def my_bills(w: PayWorld, owner: Owner) -> dict[str, Any]:
    r = await w.client.get("/me/bills", headers=owner.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def unpaid_bill_ids(w: PayWorld, owner: Owner) -> list[str]:
    data = await my_bills(w, owner)
    return [b["id"] for room in data["rooms"] for b in room["bills"] if b["status"] == "unpaid"]


async def prepay(w: PayWorld, owner: Owner, bill_ids: list[str]) -> dict[str, Any]:
    r = await w.client.post("/payments", json={"bill_ids": bill_ids}, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()


def prepay_id(payment: dict[str, Any]) -> str:
    return payment["pay_params"]["package"].removeprefix("prepay_id=")


async def user_pays(w: PayWorld, payment: dict[str, Any], outcome: str = "success", notify: str = "normal") -> dict[str, Any]:
    r = await w.wx.post(f"/_standin/pay/orders/{prepay_id(payment)}/pay", json={"outcome": outcome, "notify": notify})
    assert r.status_code == 200, r.text
    return r.json()


async def settle_notifies(w: PayWorld, attempts: int = 1, out_trade_no: str | None = None) -> list[dict[str, Any]]:
    """Waits (bounded, generously: a loaded machine) until the stand-in has made `attempts`
    notify calls."""
    for _ in range(3000):
        log = (await w.wx.get("/_standin/pay/notifications", params={"out_trade_no": out_trade_no} if out_trade_no else {})).json()
        if len(log) >= attempts:
            return list(log)
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {attempts} notify attempts, saw {len(log)}")


async def payment(w: PayWorld, owner_or_headers: Owner | dict[str, str], payment_id: str) -> dict[str, Any]:
    headers = owner_or_headers.headers if isinstance(owner_or_headers, Owner) else owner_or_headers
    r = await w.client.get(f"/payments/{payment_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def notification_outcomes(w: PayWorld) -> list[str]:
    async with w.app.state.sessionmaker() as s:
        return list((await s.scalars(select(PayNotification.outcome).order_by(PayNotification.received_at))).all())


async def count(w: PayWorld, model: Any, *where: Any) -> int:
    async with w.app.state.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)
