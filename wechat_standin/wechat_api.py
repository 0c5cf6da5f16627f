"""WeChat's own server API, as the stand-in serves it: same paths, field names and errcodes."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from wechat_standin.rules import invalid_template_data, sec_check_body, sec_verdict
from wechat_standin.settings import StandinSettings
from wechat_standin.state import StandinState, WeChatError

router = APIRouter()

JSCODE2SESSION = "/sns/jscode2session"
STABLE_TOKEN = "/cgi-bin/stable_token"
PHONE_NUMBER = "/wxa/business/getuserphonenumber"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
MSG_SEC_CHECK = "/wxa/msg_sec_check"
WECHAT_PATHS = (JSCODE2SESSION, STABLE_TOKEN, PHONE_NUMBER, SUBSCRIBE_SEND, MSG_SEC_CHECK)

MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")


def get_state(request: Request) -> StandinState:
    state: StandinState = request.app.state.standin
    return state


def get_settings(request: Request) -> StandinSettings:
    settings: StandinSettings = request.app.state.settings
    return settings


State = Annotated[StandinState, Depends(get_state)]
Settings = Annotated[StandinSettings, Depends(get_settings)]


async def _json_object(request: Request) -> dict[str, Any]:
    """The JSON object body of a WeChat POST; anything else is 47001, as at WeChat."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise WeChatError(47001) from None
    if not isinstance(body, dict):
        raise WeChatError(47001)
    return body


JsonBody = Annotated[dict[str, Any], Depends(_json_object)]


def _token_appid(request: Request, state: State) -> str:
    return state.check_token(request.query_params.get("access_token"))


TokenAppid = Annotated[str, Depends(_token_appid)]


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise WeChatError(47001, f"data format error hint: {name} must be a string")
    return value


def _check_app(settings: StandinSettings, appid: str | None, secret: str | None) -> None:
    if not appid:
        raise WeChatError(41002)
    if not secret:
        raise WeChatError(41004)
    if settings.appid and appid != settings.appid:
        raise WeChatError(40013)
    if settings.secret and secret != settings.secret:
        raise WeChatError(40125)


@router.get(JSCODE2SESSION)
async def jscode2session(
    state: State,
    settings: Settings,
    appid: str | None = None,
    secret: str | None = None,
    js_code: str | None = None,
    grant_type: str | None = None,
) -> dict[str, Any]:
    """code2Session. Success carries no errcode (as WeChat answers today)."""
    _check_app(settings, appid, secret)
    if not js_code:
        raise WeChatError(41008)
    if grant_type != "authorization_code":
        raise WeChatError(40002)
    user = state.redeem_code(state.login_codes, js_code)
    answer = {
        "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
        "openid": user["openid"],
    }
    if user.get("unionid"):
        answer["unionid"] = user["unionid"]
    return answer


@router.post(STABLE_TOKEN)
async def stable_token(state: State, settings: Settings, body: JsonBody) -> dict[str, Any]:
    """getStableAccessToken: normal mode returns the live token, force_refresh replaces it."""
    if body.get("grant_type") != "client_credential":
        raise WeChatError(40002)
    _check_app(settings, _optional_text(body, "appid"), _optional_text(body, "secret"))
    force_refresh = body.get("force_refresh", False)
    if not isinstance(force_refresh, bool):
        raise WeChatError(47001, "data format error hint: force_refresh must be a boolean")
    token, expires_in = state.stable_token(str(body["appid"]), force_refresh)
    return {"access_token": token, "expires_in": expires_in}


@router.post(PHONE_NUMBER)
async def get_user_phone_number(state: State, appid: TokenAppid, body: JsonBody) -> dict[str, Any]:
    """getPhoneNumber: a phone code (from `POST /_standin/phone-codes`) → the phone, once."""
    code = _optional_text(body, "code")
    if not code:
        raise WeChatError(41008)
    phone = state.redeem_code(state.phone_codes, code)
    return {
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": phone["phoneNumber"],
            "purePhoneNumber": phone["purePhoneNumber"],
            "countryCode": phone["countryCode"],
            "watermark": {"timestamp": int(state.now()), "appid": appid},
        },
    }


@router.post(SUBSCRIBE_SEND)
async def subscribe_send(
    state: State, settings: Settings, _appid: TokenAppid, body: JsonBody
) -> dict[str, Any]:
    """subscribeMessage.send: validated like WeChat, then delivered only against a consent
    (each delivery consumes one; none → 43101). A refused message consumes nothing."""
    touser = _optional_text(body, "touser")
    if not touser:
        raise WeChatError(40003)
    template_id = _optional_text(body, "template_id")
    if not template_id or (settings.template_ids and template_id not in settings.template_ids):
        raise WeChatError(40037)
    page = _optional_text(body, "page")
    miniprogram_state = _optional_text(body, "miniprogram_state") or "formal"
    if miniprogram_state not in MINIPROGRAM_STATES:
        raise WeChatError(47003, "argument invalid! miniprogram_state invalid")
    lang = _optional_text(body, "lang") or "zh_CN"
    if lang not in LANGS:
        raise WeChatError(47003, "argument invalid! lang invalid")
    problem = invalid_template_data(body.get("data"))
    if problem is not None:
        raise WeChatError(47003, problem)
    msgid = state.deliver(
        {
            "touser": touser,
            "template_id": template_id,
            "page": page,
            "data": body["data"],
            "miniprogram_state": miniprogram_state,
            "lang": lang,
        }
    )
    return {"errcode": 0, "errmsg": "ok", "msgid": msgid}


@router.post(MSG_SEC_CHECK)
async def msg_sec_check(
    settings: Settings, _appid: TokenAppid, body: JsonBody
) -> dict[str, Any]:
    """msgSecCheck. Version 2 answers a verdict (`result.suggest`); version 1 (no `version`)
    answers 87014 for risky text. The verdict comes from the configured markers."""
    content = _optional_text(body, "content")
    if content is None:
        raise WeChatError(47001, "data format error hint: content missing")
    if len(content) > settings.max_content_chars:
        raise WeChatError(47001, "data format error hint: content too long")
    version = body.get("version", 1)
    if version not in (1, 2, "1", "2"):
        raise WeChatError(47001, "data format error hint: version invalid")
    extra = [t for t in (_optional_text(body, k) for k in ("title", "nickname", "signature")) if t]
    verdict = sec_verdict(
        [content, *extra], settings.risky_markers, settings.review_markers
    )
    if str(version) == "1":
        if verdict.suggest == "risky":
            raise WeChatError(87014)
        return {"errcode": 0, "errmsg": "ok"}
    if not _optional_text(body, "openid"):
        raise WeChatError(40003)
    scene = body.get("scene")
    if isinstance(scene, bool) or scene not in (1, 2, 3, 4):
        raise WeChatError(47001, "data format error hint: scene invalid")
    trace_id = "-".join(secrets.token_hex(4) for _ in range(3))
    return sec_check_body(verdict, trace_id)
