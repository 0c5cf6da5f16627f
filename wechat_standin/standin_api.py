"""Test-only paths under /_standin/: what a WeChat user or WeChat itself would do, on demand."""

from __future__ import annotations

import re
from typing import Any, Self

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from wechat_standin.state import Fault
from wechat_standin.wechat_api import WECHAT_PATHS, State

router = APIRouter(prefix="/_standin")

_Text = Field(min_length=1, max_length=128)


class LoginCodeIn(BaseModel):
    openid: str = _Text
    unionid: str | None = Field(default=None, min_length=1, max_length=128)


class PhoneCodeIn(BaseModel):
    phone: str = Field(pattern=r"^\+?\d{5,20}$", description="e.g. 13800138000 or +8613800138000")
    country_code: str = Field(default="86", pattern=r"^\d{1,4}$")


class CodeOut(BaseModel):
    code: str


class ConsentIn(BaseModel):
    openid: str = _Text
    template_id: str = _Text


class ConsentOut(ConsentIn):
    remaining: int = Field(description="accepted pushes of this template not yet used")


class FaultIn(BaseModel):
    path: str = Field(description="a WeChat path, e.g. /cgi-bin/message/subscribe/send")
    errcode: int | None = Field(default=None, description="e.g. -1 (system busy), 45011")
    http_status: int | None = Field(default=None, ge=400, le=599)
    times: int = Field(default=1, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_failure(self) -> Self:
        self.path = "/" + self.path.split("?", 1)[0].strip("/")
        if self.path not in WECHAT_PATHS:
            raise ValueError(f"path must be one of {', '.join(WECHAT_PATHS)}")
        if (self.errcode is None) == (self.http_status is None):
            raise ValueError("give exactly one of errcode and http_status")
        if self.errcode == 0:
            raise ValueError("errcode 0 is success, not a fault")
        return self


class FaultOut(BaseModel):
    path: str
    pending: int = Field(description="failures queued for this path")


class ClockIn(BaseModel):
    advance_seconds: float = Field(gt=0, le=366 * 86400)


class ClockOut(BaseModel):
    now: float


def _phone_fields(body: PhoneCodeIn) -> dict[str, str]:
    pure = re.sub(rf"^\+{body.country_code}", "", body.phone).lstrip("+")
    number = pure if body.country_code == "86" else f"+{body.country_code}{pure}"
    return {"phoneNumber": number, "purePhoneNumber": pure, "countryCode": body.country_code}


@router.post("/login-codes")
async def login_code(state: State, body: LoginCodeIn) -> CodeOut:
    """What wx.login would give this user: single use, valid for the code lifetime (5 min)."""
    payload = {"openid": body.openid, "unionid": body.unionid}
    return CodeOut(code=state.issue_code(state.login_codes, payload, 16))


@router.post("/phone-codes")
async def phone_code(state: State, body: PhoneCodeIn) -> CodeOut:
    """What the getPhoneNumber button would give: a code for getuserphonenumber, single use."""
    return CodeOut(code=state.issue_code(state.phone_codes, _phone_fields(body), 32))


@router.post("/consents")
async def consent(state: State, body: ConsentIn) -> ConsentOut:
    """The user accepted one push of this template (wx.requestSubscribeMessage)."""
    remaining = state.add_consent(body.openid, body.template_id)
    return ConsentOut(openid=body.openid, template_id=body.template_id, remaining=remaining)


@router.get("/messages")
async def messages(state: State, touser: str | None = None) -> list[dict[str, Any]]:
    """Subscribe messages delivered (to `touser`, or to everyone), oldest first."""
    return [m for m in state.messages if touser is None or m["touser"] == touser]


@router.post("/faults")
async def fault(state: State, body: FaultIn) -> FaultOut:
    """The next `times` calls to `path` fail this way, before anything else happens."""
    pending = state.add_fault(body.path, Fault(body.errcode, body.http_status), body.times)
    return FaultOut(path=body.path, pending=pending)


@router.post("/reset", status_code=204)
async def reset(state: State) -> None:
    """Forget codes, tokens, consents, messages and faults (between tests)."""
    state.reset()


@router.post("/clock")
async def advance_clock(state: State, body: ClockIn) -> ClockOut:
    """Move the stand-in's clock forward, to expire codes and tokens without waiting."""
    state.offset_seconds += body.advance_seconds
    return ClockOut(now=state.now())
