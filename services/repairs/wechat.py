"""WeChat's text content check (msgSecCheck) for what residents write, through the one HTTP
client of the process. The access token comes from `/cgi-bin/stable_token` and is cached until
shortly before it expires."""

from __future__ import annotations

import logging
from typing import Literal

import httpx

from services.common.wechat_token import StableAccessToken

log = logging.getLogger("repairs.wechat")

Verdict = Literal["pass", "review", "risky", "unchecked"]
_TOKEN_ERRORS = {40001, 42001, 40014}  # invalid, expired, malformed access token


class ContentChecker:
    """`check(text, openid)` → pass | review | risky, or `unchecked` when WeChat cannot answer
    (the ticket is then accepted and flagged for staff review: a lost repair request is worse
    than a late look at its text)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, appid: str, secret: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._appid = appid
        self._secret = secret
        # Renewed a minute early so a token never expires between our check and WeChat's.
        self._token = StableAccessToken(self._fetch_token, margin_seconds=60)

    async def _fetch_token(self) -> tuple[str, float]:
        response = await self._http.post(
            f"{self._base}/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self._appid,
                "secret": self._secret,
                "force_refresh": False,
            },
        )
        response.raise_for_status()
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise RuntimeError(f"stable_token errcode {body.get('errcode')}")
        return token, float(body.get("expires_in", 7200))

    async def _access_token(self, *, refresh: bool = False) -> str:
        return await self._token.get(force=refresh)

    async def _call(self, payload: dict[str, object], token: str) -> dict[str, object]:
        response = await self._http.post(
            f"{self._base}/wxa/msg_sec_check", params={"access_token": token}, json=payload
        )
        response.raise_for_status()
        body: dict[str, object] = response.json()
        return body

    async def check(self, text: str, openid: str | None) -> Verdict:
        """Version 2 (pass/review/risky) when the user's openid is known; else version 1,
        which only tells risky (errcode 87014) from the rest."""
        payload: dict[str, object] = {"content": text[:2500]}
        if openid:
            payload |= {"version": 2, "scene": 3, "openid": openid}
        try:
            body = await self._call(payload, await self._access_token())
            if body.get("errcode") in _TOKEN_ERRORS:
                body = await self._call(payload, await self._access_token(refresh=True))
        except (httpx.HTTPError, ValueError, RuntimeError) as exc:
            log.warning("msg_sec_check unavailable", extra={"error": type(exc).__name__})
            return "unchecked"
        errcode = body.get("errcode", 0)
        if errcode == 87014:
            return "risky"
        if errcode != 0:
            log.warning("msg_sec_check refused the call", extra={"errcode": errcode})
            return "unchecked"
        result = body.get("result")
        suggest = result.get("suggest") if isinstance(result, dict) else "pass"
        if suggest in ("risky", "review"):
            return suggest  # type: ignore[return-value]
        return "pass"
