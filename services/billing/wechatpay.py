"""The WeChat Pay v3 client: one per process (created in the lifespan), explicit timeouts.

Signing and verification come from `wechatpayv3` (its `utils`: the `WECHATPAY2-SHA256-RSA2048`
Authorization header, RSA-SHA256 signatures, AEAD_AES_256_GCM decryption); its own client is
synchronous (requests), so the HTTP calls go through httpx here. Responses and notify calls
are verified against the platform public key (WeChat Pay's "public key" mode).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from wechatpayv3.utils import (
    aes_decrypt,
    build_authorization,
    load_private_key,
    load_public_key,
    rsa_sign,
    rsa_verify,
)

from services.billing.devkeys import dev_keys
from services.billing.settings import Settings


class WeChatPayError(Exception):
    """WeChat Pay did not answer usably (network, 5xx, bad signature): try again later."""


class WeChatPayRefused(Exception):
    """WeChat Pay answered a 4xx with its `{code, message}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PayCredentials:
    appid: str
    mchid: str
    merchant_serial: str
    merchant_private_key: str
    platform_public_key: str
    platform_key_id: str
    apiv3_key: str

    @classmethod
    def from_settings(cls, s: Settings) -> PayCredentials:
        keys = None
        if not (s.wechatpay_merchant_private_key and s.wechatpay_platform_public_key and s.wechatpay_apiv3_key):
            keys = dev_keys()
        return cls(
            appid=s.wechatpay_appid,
            mchid=s.wechatpay_mchid,
            merchant_serial=s.wechatpay_merchant_serial or (keys.merchant_serial if keys else ""),
            merchant_private_key=s.wechatpay_merchant_private_key or (keys.merchant_private_key if keys else ""),
            platform_public_key=s.wechatpay_platform_public_key or (keys.platform_public_key if keys else ""),
            platform_key_id=s.wechatpay_platform_key_id or (keys.platform_key_id if keys else ""),
            apiv3_key=s.wechatpay_apiv3_key or (keys.apiv3_key if keys else ""),
        )


class WeChatPayClient:
    def __init__(
        self,
        credentials: PayCredentials,
        *,
        base_url: str,
        notify_url: str,
        timeout_seconds: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self.notify_url = notify_url
        self._private_key = load_private_key(credentials.merchant_private_key)
        self._platform_key = load_public_key(credentials.platform_public_key)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout_seconds, connect=min(2.0, timeout_seconds)),
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- signatures ---------------------------------------------------------------------

    def verify(self, headers: httpx.Headers | dict[str, str], body: str) -> bool:
        """A response's or notify's `Wechatpay-*` headers sign `body` with the platform key."""
        h = {k.lower(): v for k, v in headers.items()}
        serial = h.get("wechatpay-serial", "")
        if self.credentials.platform_key_id and serial != self.credentials.platform_key_id:
            return False
        timestamp, nonce, signature = (
            h.get("wechatpay-timestamp", ""),
            h.get("wechatpay-nonce", ""),
            h.get("wechatpay-signature", ""),
        )
        if not (timestamp and nonce and signature):
            return False
        return bool(rsa_verify(timestamp, nonce, body, signature, self._platform_key))

    def decrypt(self, resource: dict[str, Any]) -> dict[str, Any] | None:
        """The notify's AEAD_AES_256_GCM resource, or None when it does not open."""
        try:
            plain = aes_decrypt(
                nonce=str(resource["nonce"]),
                ciphertext=str(resource["ciphertext"]),
                associated_data=str(resource.get("associated_data") or ""),
                apiv3_key=self.credentials.apiv3_key,
            )
        except (KeyError, ValueError, TypeError):
            return None
        if plain is None:
            return None
        try:
            data = json.loads(plain)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def pay_params(self, prepay_id: str) -> dict[str, str]:
        """What `wx.requestPayment` takes for a JSAPI order (paySign: RSA over the four)."""
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        message = f"{self.credentials.appid}\n{timestamp}\n{nonce}\n{package}\n"
        return {
            "appId": self.credentials.appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": rsa_sign(self._private_key, message),
        }

    # --- calls --------------------------------------------------------------------------

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
        authorization = build_authorization(
            path,
            method,
            self.credentials.mchid,
            self.credentials.merchant_serial,
            self._private_key,
            data=data or None,
        )
        headers = {
            "Authorization": authorization,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        try:
            r = await self._http.request(method, path, content=data.encode() if data else None, headers=headers)
        except httpx.HTTPError as exc:
            raise WeChatPayError(f"{method} {path}: {type(exc).__name__}") from exc
        if r.status_code >= 500:
            raise WeChatPayError(f"{method} {path}: HTTP {r.status_code}")
        if r.status_code >= 400:
            try:
                err = r.json()
            except ValueError:
                err = {}
            raise WeChatPayRefused(r.status_code, str(err.get("code", "")), str(err.get("message", "")))
        if not self.verify(r.headers, r.text):
            raise WeChatPayError(f"{method} {path}: response signature does not verify")
        if r.status_code == 204 or not r.content:
            return {}
        result = r.json()
        if not isinstance(result, dict):
            raise WeChatPayError(f"{method} {path}: not a JSON object")
        return result

    async def jsapi_prepay(
        self, *, out_trade_no: str, description: str, amount_fen: int, openid: str, time_expire: datetime
    ) -> str:
        result = await self._call(
            "POST",
            "/v3/pay/transactions/jsapi",
            {
                "appid": self.credentials.appid,
                "mchid": self.credentials.mchid,
                "description": description[:127],
                "out_trade_no": out_trade_no,
                "time_expire": time_expire.isoformat(timespec="seconds"),
                "notify_url": self.notify_url,
                "amount": {"total": amount_fen, "currency": "CNY"},
                "payer": {"openid": openid},
            },
        )
        prepay_id = result.get("prepay_id")
        if not prepay_id:
            raise WeChatPayError("jsapi: no prepay_id")
        return str(prepay_id)

    async def query(self, out_trade_no: str) -> dict[str, Any]:
        return await self._call(
            "GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={self.credentials.mchid}"
        )

    async def close(self, out_trade_no: str) -> None:
        await self._call(
            "POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close", {"mchid": self.credentials.mchid}
        )

    async def refund(
        self, *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str
    ) -> dict[str, Any]:
        return await self._call(
            "POST",
            "/v3/refund/domestic/refunds",
            {
                "out_trade_no": out_trade_no,
                "out_refund_no": out_refund_no,
                "reason": reason[:80],
                "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
            },
        )


def client_from_settings(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> WeChatPayClient:
    return WeChatPayClient(
        PayCredentials.from_settings(settings),
        base_url=settings.wechatpay_api_base,
        notify_url=settings.wechatpay_notify_url,
        timeout_seconds=settings.http_timeout_seconds,
        transport=transport,
    )
