"""The WeChat Pay v3 side of the stand-in: orders, refunds, signatures and the notify
call-back with WeChat Pay's retries. In memory, one process, like the rest of the stand-in.

Keys: the merchant's public key (to check the Authorization header billing signs), the
platform key pair (to sign answers and notifies) and the APIv3 key (to encrypt the notify
resource). By default the development keys under DATA_DIR (services/billing/devkeys.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from wechatpayv3.utils import load_private_key, load_public_key, rsa_sign

log = logging.getLogger("wechat_standin.pay")

CST = timezone(timedelta(hours=8))
_AUTH_RE = re.compile(r'(\w+)="([^"]*)"')
# WeChat Pay's notify retry schedule (seconds after the previous try): 15s/15s/30s/3m/10m/20m/
# 30m/30m/30m/60m/3h/3h/3h/6h/6h, 24h4m in all.
WECHATPAY_RETRIES = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)


class PayError(Exception):
    """WeChat Pay's error answer: an HTTP status and `{code, message}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Order:
    appid: str
    mchid: str
    out_trade_no: str
    description: str
    total: int
    openid: str
    notify_url: str
    prepay_id: str
    created_at: float
    time_expire: str | None = None
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None
    refunded: int = 0

    def as_transaction(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": "JSAPI",
            "trade_state": self.trade_state,
            "trade_state_desc": _STATE_DESC[self.trade_state],
            "payer": {"openid": self.openid},
            "amount": {"total": self.total, "currency": "CNY"},
        }
        if self.transaction_id:
            out.update(
                transaction_id=self.transaction_id,
                bank_type="OTHERS",
                success_time=self.success_time,
            )
            out["amount"].update(payer_total=self.total, payer_currency="CNY")
        return out


_STATE_DESC = {
    "NOTPAY": "未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "已关闭",
    "REFUND": "转入退款",
    "USERPAYING": "用户支付中",
    "PAYERROR": "支付失败",
    "REVOKED": "已撤销",
}


@dataclass
class PayFault:
    """A failing WeChat Pay call: an HTTP status with WeChat Pay's `{code, message}`, or a
    delay (a timeout, when longer than the caller waits)."""

    http_status: int | None = None
    code: str = "SYSTEM_ERROR"
    delay_seconds: float = 0.0


@dataclass
class PayKeysIn:
    mchid: str
    merchant_public_key: str
    platform_private_key: str
    platform_key_id: str
    apiv3_key: str


@dataclass
class PayState:
    keys: PayKeysIn
    clock: Callable[[], float] = time.time
    retry_seconds: tuple[float, ...] = WECHATPAY_RETRIES
    orders: dict[str, Order] = field(default_factory=dict)
    by_prepay: dict[str, str] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    notify_log: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, deque[PayFault]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    http: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        self._merchant_key = load_public_key(self.keys.merchant_public_key)
        self._platform_key = load_private_key(self.keys.platform_private_key)

    def reset(self) -> None:
        for t in self.tasks:
            t.cancel()
        self.tasks.clear()
        for store in (self.orders, self.by_prepay, self.faults):
            store.clear()
        self.refunds.clear()
        self.notify_log.clear()

    # --- signatures ---------------------------------------------------------------------

    def check_authorization(self, method: str, url: str, body: str, header: str | None) -> None:
        """The merchant's `WECHATPAY2-SHA256-RSA2048` Authorization (else 401 SIGN_ERROR)."""
        if not header or not header.startswith("WECHATPAY2-SHA256-RSA2048 "):
            raise PayError(401, "SIGN_ERROR", "Authorization 格式错误")
        parts = dict(_AUTH_RE.findall(header))
        if self.keys.mchid and parts.get("mchid") != self.keys.mchid:
            raise PayError(401, "SIGN_ERROR", "商户号不匹配")
        message = f"{method}\n{url}\n{parts.get('timestamp', '')}\n{parts.get('nonce_str', '')}\n{body}\n"
        try:
            self._merchant_key.verify(
                base64.b64decode(parts.get("signature", "")), message.encode(), PKCS1v15(), SHA256()
            )
        except (InvalidSignature, ValueError):
            raise PayError(401, "SIGN_ERROR", "签名错误") from None

    def signed_headers(self, body: str, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(self.clock()))
        nonce = secrets.token_hex(16)
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": rsa_sign(self._platform_key, f"{ts}\n{nonce}\n{body}\n"),
            "Wechatpay-Serial": self.keys.platform_key_id,
        }

    def encrypt(self, plain: dict[str, Any], associated_data: str = "transaction") -> dict[str, str]:
        nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay sends
        cipher = AESGCM(self.keys.apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(plain, ensure_ascii=False).encode(), associated_data.encode()
        )
        return {
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(cipher).decode(),
            "associated_data": associated_data,
            "original_type": "transaction",
            "nonce": nonce,
        }

    # --- faults -------------------------------------------------------------------------

    def add_fault(self, api: str, fault: PayFault, times: int) -> int:
        queue = self.faults.setdefault(api, deque())
        queue.extend([fault] * times)
        return len(queue)

    def take_fault(self, api: str) -> PayFault | None:
        queue = self.faults.get(api)
        return queue.popleft() if queue else None

    # --- orders -------------------------------------------------------------------------

    def now_text(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).astimezone(CST).isoformat(timespec="seconds")

    def order(self, out_trade_no: str) -> Order:
        order = self.orders.get(out_trade_no)
        if order is None:
            raise PayError(404, "ORDER_NOT_EXIST", "订单不存在")
        return order

    def prepay(self, body: dict[str, Any]) -> str:
        no = str(body["out_trade_no"])
        existing = self.orders.get(no)
        amount = int(body["amount"]["total"])
        if existing is not None:
            if existing.trade_state == "CLOSED":
                raise PayError(400, "ORDER_CLOSED", "订单已关闭")
            if existing.total != amount or existing.openid != body["payer"]["openid"]:
                raise PayError(400, "INVALID_REQUEST", "商户订单号重复")
            return existing.prepay_id
        prepay_id = "wx" + datetime.fromtimestamp(self.clock(), CST).strftime("%d%H%M%S") + secrets.token_hex(12)
        self.orders[no] = Order(
            appid=str(body["appid"]),
            mchid=str(body["mchid"]),
            out_trade_no=no,
            description=str(body["description"]),
            total=amount,
            openid=str(body["payer"]["openid"]),
            notify_url=str(body["notify_url"]),
            prepay_id=prepay_id,
            created_at=self.clock(),
            time_expire=body.get("time_expire"),
        )
        self.by_prepay[prepay_id] = no
        return prepay_id

    def close(self, out_trade_no: str) -> None:
        order = self.order(out_trade_no)
        if order.trade_state == "SUCCESS":
            raise PayError(400, "ORDERPAID", "订单已支付")
        order.trade_state = "CLOSED"

    def pay(self, prepay_id: str, outcome: str) -> Order:
        """What the user does in wx.requestPayment: pay (success), fail, or cancel (nothing)."""
        no = self.by_prepay.get(prepay_id)
        if no is None:
            raise PayError(404, "ORDER_NOT_EXIST", "订单不存在")
        order = self.orders[no]
        if order.trade_state != "NOTPAY":
            raise PayError(400, "ORDER_CLOSED" if order.trade_state == "CLOSED" else "ORDERPAID", "订单状态不允许支付")
        if outcome == "success":
            order.trade_state = "SUCCESS"
            order.transaction_id = "4200" + datetime.fromtimestamp(self.clock(), CST).strftime("%Y%m%d") + secrets.token_hex(7)
            order.success_time = self.now_text()
        elif outcome == "fail":
            order.trade_state = "PAYERROR"
        return order

    def refund(self, body: dict[str, Any]) -> dict[str, Any]:
        order = self.order(str(body["out_trade_no"]))
        refund_fen = int(body["amount"]["refund"])
        if order.trade_state not in ("SUCCESS", "REFUND"):
            raise PayError(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if int(body["amount"]["total"]) != order.total:
            raise PayError(400, "PARAM_ERROR", "订单金额不一致")
        for r in self.refunds:  # same out_refund_no again: the same refund
            if r["out_refund_no"] == body["out_refund_no"]:
                return r
        if refund_fen <= 0 or order.refunded + refund_fen > order.total:
            raise PayError(403, "NOT_ENOUGH", "可退金额不足")
        order.refunded += refund_fen
        order.trade_state = "REFUND"
        record = {
            "refund_id": "5030" + secrets.token_hex(12),
            "out_refund_no": body["out_refund_no"],
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "status": "SUCCESS",
            "create_time": self.now_text(),
            "success_time": self.now_text(),
            "amount": {
                "total": order.total,
                "refund": refund_fen,
                "payer_total": order.total,
                "payer_refund": refund_fen,
                "currency": "CNY",
            },
        }
        self.refunds.append(record)
        return record

    # --- notify -------------------------------------------------------------------------

    def notify_body(self, order: Order, *, total: int | None = None, notify_id: str | None = None) -> str:
        transaction = order.as_transaction()
        if total is not None:
            transaction["amount"] = {**transaction["amount"], "total": total, "payer_total": total}
        envelope = {
            "id": notify_id or secrets.token_hex(16),
            "create_time": self.now_text(),
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": self.encrypt(transaction),
        }
        return json.dumps(envelope, ensure_ascii=False)

    async def post_notify(
        self, url: str, body: str, headers: dict[str, str], out_trade_no: str, attempt: int
    ) -> int | None:
        assert self.http is not None
        try:
            r = await self.http.post(url, content=body.encode(), headers={"Content-Type": "application/json", **headers})
            status: int | None = r.status_code
        except httpx.HTTPError as exc:
            log.info("notify failed", extra={"out_trade_no": out_trade_no, "error": type(exc).__name__})
            status = None
        self.notify_log.append(
            {"out_trade_no": out_trade_no, "attempt": attempt, "status_code": status, "at": self.clock()}
        )
        return status

    def send_notify(self, order: Order, *, times: int = 1) -> None:
        """The success notify, in the background with WeChat Pay's retries until a 2xx; the
        same notification (same id, freshly signed) on every try. `times=2` delivers it twice
        even after a success (the duplicate WeChat Pay may send)."""
        notify_id = secrets.token_hex(16)
        body = self.notify_body(order, notify_id=notify_id)

        async def run() -> None:
            delivered = 0
            attempt = 0
            for delay in (0.0, *self.retry_seconds):
                if delay:
                    await asyncio.sleep(delay)
                attempt += 1
                status = await self.post_notify(order.notify_url, body, self.signed_headers(body), order.out_trade_no, attempt)
                if status is not None and 200 <= status < 300:
                    delivered += 1
                    if delivered >= times:
                        return

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
