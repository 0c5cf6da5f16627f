"""A local stand-in of the WeChat server API, for `make run` and the tests (no account, no network).

Run: `uvicorn --factory wechat_standin.app:create_app --port 8005`; services reach it through
`WECHAT_API_BASE` (in production that is https://api.weixin.qq.com and nothing else changes).

WeChat paths (WeChat's field names and errcodes; errors are HTTP 200 `{"errcode", "errmsg"}`):
- `GET  /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`
  → `{openid, session_key, unionid?}`; 40029 unknown/expired code, 40163 reused code,
  41002/41004/41008 missing appid/secret/js_code, 40002 bad grant_type, 40013/40125 wrong
  appid/secret.
- `POST /cgi-bin/stable_token {grant_type: client_credential, appid, secret, force_refresh?}`
  → `{access_token, expires_in}`; normal mode returns the live token (expires_in = seconds
  left), force_refresh issues a new one and the old one then answers 40001.
- `POST /wxa/business/getuserphonenumber?access_token= {code}` → `{errcode: 0, errmsg: "ok",
  phone_info: {phoneNumber, purePhoneNumber, countryCode, watermark: {timestamp, appid}}}`;
  40029/40163 like login codes.
- `POST /cgi-bin/message/subscribe/send?access_token= {touser, template_id, page?, data,
  miniprogram_state?, lang?}` → `{errcode: 0, errmsg: "ok", msgid}`; 40003 no touser, 40037
  bad template_id, 47003 bad data/miniprogram_state/lang, 43101 no consent left.
  Value limits (47003): thing ≤20 chars; number ≤32 digits (decimals allowed); letter ≤32
  letters; symbol ≤5 symbols; character_string ≤32 ASCII; phone_number ≤17 digits/symbols;
  car_number ≤8; name ≤10 (≤20 if all ASCII); phrase ≤5 Chinese characters; amount an optional
  currency sign + ≤10 digits (+ decimals, optional 元); time must hold HH:MM; date must hold a
  Y-M-D (年月日 or -/.) date; enum and unknown kinds only non-empty.
- `POST /wxa/msg_sec_check?access_token= {content, version: 2, scene: 1..4, openid}`
  → `{errcode: 0, errmsg: "ok", result: {suggest, label}, detail: [...], trace_id}`.
  Deterministic: content (or title/nickname/signature) containing a risky marker (default
  "[risky]" or "违禁内容", case-insensitive) is `risky` (label 20006), else one containing a
  review marker (default "[review]" or "待审内容") is `review` (label 21000), else `pass`
  (label 100). Without `version` (v1), risky text answers errcode 87014, anything else 0.
  40003 missing openid (v2), 47001 missing/too long content or bad scene/version.
- Every call that needs `access_token`: 41001 missing, 40001 unknown or replaced, 42001 expired.

Test-only paths (errors in the project's shape `{"error": {code, message, details}}`, 422):
- `POST /_standin/login-codes {openid, unionid?}` → `{code}`: single use, valid 5 minutes.
- `POST /_standin/phone-codes {phone, country_code?="86"}` → `{code}` for getuserphonenumber.
- `POST /_standin/consents {openid, template_id}` → `{openid, template_id, remaining}`: one
  accepted push; each successful subscribe/send consumes one.
- `GET  /_standin/messages?touser=` → list of delivered messages, oldest first
  (`{msgid, sent_at, touser, template_id, page, data, miniprogram_state, lang}`).
- `POST /_standin/faults {path, errcode | http_status, times=1}` → `{path, pending}`: the next
  `times` calls to that WeChat path fail that way (errcode with HTTP 200, e.g. -1 system busy or
  45011 rate limit; or a bare HTTP status like 500/503) before anything else happens, so a
  failed call consumes no code or consent.
- `POST /_standin/reset` → 204: forget everything. `POST /_standin/clock {advance_seconds}` →
  `{now}`: move the clock forward. `GET /healthz`.

Settings (env, prefix `WECHAT_STANDIN_`): `APPID`, `SECRET` (empty = accept any),
`ACCESS_TOKEN_TTL_SECONDS` (7200), `CODE_TTL_SECONDS` (300), `TEMPLATE_IDS` (JSON list; empty =
any), `RISKY_MARKERS`, `REVIEW_MARKERS` (JSON lists), `MAX_CONTENT_CHARS` (2500), `LOG_LEVEL`.

State is in memory, in one process: run a single worker; a restart forgets everything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.billing.devkeys import dev_keys
from services.common.logs import configure_logging
from wechat_standin import pay_api, standin_api, wechat_api
from wechat_standin.pay_state import WECHATPAY_RETRIES, PayKeysIn, PayState
from wechat_standin.rules import errmsg
from wechat_standin.settings import StandinSettings
from wechat_standin.state import Clock, StandinState, WeChatError

log = logging.getLogger("wechat_standin")

_HTTP_MESSAGES = {404: "接口不存在", 405: "不支持该请求方法"}


def _error(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}}, status_code=status
    )


def _wechat_error(path: str, errcode: int, message: str) -> JSONResponse:
    log.info("wechat error", extra={"path": path, "errcode": errcode})
    return JSONResponse({"errcode": errcode, "errmsg": message})


def _pay_keys(settings: StandinSettings) -> PayKeysIn:
    if settings.pay_merchant_public_key and settings.pay_platform_private_key and settings.pay_apiv3_key:
        return PayKeysIn(
            settings.pay_mchid,
            settings.pay_merchant_public_key,
            settings.pay_platform_private_key,
            settings.pay_platform_key_id,
            settings.pay_apiv3_key,
        )
    keys = dev_keys()
    return PayKeysIn(
        settings.pay_mchid, keys.merchant_public_key, keys.platform_private_key, keys.platform_key_id, keys.apiv3_key
    )


def create_app(
    settings: StandinSettings | None = None,
    *,
    clock: Clock | None = None,
    pay_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The stand-in app. `clock` (seconds since the epoch) lets tests control expiry;
    `pay_transport` carries WeChat Pay's notify calls (tests: to the billing app in-process)."""
    settings = settings or StandinSettings()
    configure_logging("wechat-standin", settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pay = getattr(app.state, "pay", None)
        if pay is not None:
            pay.reset()  # cancels notify retries still waiting
            if pay.http is not None:
                await pay.http.aclose()

    app = FastAPI(
        title="WeChat API stand-in",
        docs_url="/_standin/docs",
        redoc_url=None,
        openapi_url="/_standin/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.standin = StandinState(
        code_ttl_seconds=settings.code_ttl_seconds,
        access_token_ttl_seconds=settings.access_token_ttl_seconds,
        clock=clock or time.time,
    )
    # WeChat Pay's state is made on first use: its keys are read (or generated) only then.
    app.state.pay_factory = lambda: PayState(
        _pay_keys(settings),
        clock=clock or time.time,
        retry_seconds=tuple(settings.pay_notify_retry_seconds) or WECHATPAY_RETRIES,
        http=httpx.AsyncClient(transport=pay_transport, timeout=httpx.Timeout(5.0), trust_env=False),
    )
    app.include_router(wechat_api.router)
    app.include_router(standin_api.router)
    app.include_router(pay_api.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.middleware("http")
    async def injected_faults(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        fault = app.state.standin.take_fault(path) if path in wechat_api.WECHAT_PATHS else None
        if fault is None:
            return await call_next(request)
        if fault.http_status is not None:
            log.info("injected fault", extra={"path": path, "http_status": fault.http_status})
            return PlainTextResponse(
                f"stand-in fault: HTTP {fault.http_status}", status_code=fault.http_status
            )
        assert fault.errcode is not None
        return _wechat_error(path, fault.errcode, errmsg(fault.errcode))

    @app.exception_handler(WeChatError)
    async def on_wechat_error(request: Request, exc: WeChatError) -> JSONResponse:
        return _wechat_error(request.url.path, exc.errcode, exc.errmsg)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if request.url.path in wechat_api.WECHAT_PATHS:
            return _wechat_error(request.url.path, 47001, errmsg(47001))
        details = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return _error(422, "validation_error", "请求参数不正确", details)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = _HTTP_MESSAGES.get(exc.status_code, "请求无法处理")
        return _error(exc.status_code, f"http_{exc.status_code}", message)

    return app
