"""Identity's HTTP routes for the caller: auth (logins, refresh, staff login) and /me (account,
phone, password, bindings, household members). Running a community: community_routes.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from services.common.auth import CurrentPrincipal
from services.common.db import SessionDep, utcnow
from services.common.tokens import jwks_document
from services.identity import (
    accounts,
    bindings,
    households,
    logins,
    staff_accounts,
)
from services.identity.deps import (
    SettingsDep,
    WeChatDep,
    client_ip,
)
from services.identity.errors import InvalidCredentials, RefreshTokenReused
from services.identity.schemas import (
    AcceptInvitationIn,
    BindingCreate,
    BindingOut,
    InvitationCreate,
    InvitationOut,
    MeOut,
    PasswordChangeIn,
    PhoneCodeIn,
    RefreshIn,
    StaffLoginIn,
    TokenPairOut,
    WeChatLoginIn,
)

router = APIRouter()
internal = APIRouter(include_in_schema=False)


def _pair_out(pair: logins.TokenPair) -> TokenPairOut:
    return TokenPairOut.model_validate(
        {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "expires_in": pair.expires_in,
            "account": {
                "id": pair.account.id,
                "name": pair.account.name,
                "platform_admin": pair.account.platform_admin,
            },
        }
    )


@internal.get("/.well-known/jwks.json")
async def jwks(request: Request) -> dict[str, Any]:
    return jwks_document(request.app.state.signing_keys)


@internal.get("/internal/role-changes")
async def role_changes(
    session: SessionDep,
    settings: SettingsDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    """Recent bumps of accounts' roles versions, for every token verifier (role_changes.py).
    Internal: the gateway never routes /internal."""
    since = utcnow() - timedelta(seconds=settings.access_token_ttl_seconds + 60)
    rows = await logins.recent_role_changes(session, after, since, limit)
    return {
        "items": [
            {"seq": r.seq, "account_id": r.account_id, "roles_version": r.roles_version}
            for r in rows
        ]
    }


# ---------------------------------------------------------------- auth


@router.post("/auth/wechat-login", response_model=TokenPairOut, tags=["auth"])
async def wechat_login(
    body: WeChatLoginIn, session: SessionDep, settings: SettingsDep, wechat: WeChatDep, request: Request
) -> TokenPairOut:
    pair = await logins.wechat_login(session, settings, request.app.state.signing_key, wechat, body.code)
    return _pair_out(pair)


@router.post("/auth/refresh", response_model=TokenPairOut, tags=["auth"])
async def refresh(body: RefreshIn, settings: SettingsDep, request: Request) -> TokenPairOut:
    # Its own unit of work: a reused token's family revocation must be committed even though
    # the answer is an error.
    async with request.app.state.sessionmaker() as session:
        outcome = await logins.refresh(session, settings, request.app.state.signing_key, body.refresh_token)
        await session.commit()
    if outcome.pair is None:
        raise RefreshTokenReused()
    return _pair_out(outcome.pair)


@router.post("/auth/staff-login", response_model=TokenPairOut, tags=["auth"])
async def staff_login(
    body: StaffLoginIn, settings: SettingsDep, wechat: WeChatDep, request: Request
) -> TokenPairOut:
    """With `wx_code` (from `wx.login`), the staff account is linked to that WeChat: pushes
    reach the person from then on."""
    openid = (await wechat.code2session(body.wx_code)).openid if body.wx_code else None
    # Its own units of work: a failed attempt is recorded even though the answer is an error,
    # and the password check runs outside any transaction.
    pair = await logins.staff_login(
        request.app.state.sessionmaker,
        settings,
        request.app.state.signing_key,
        body.username,
        body.password,
        client_ip(request),
        openid,
    )
    if pair is None:
        raise InvalidCredentials()
    return _pair_out(pair)


# ---------------------------------------------------------------- me


@router.get("/me", response_model=MeOut, tags=["me"])
async def get_me(session: SessionDep, principal: CurrentPrincipal) -> MeOut:
    return await accounts.me(session, principal)


@router.delete("/me", status_code=204, tags=["me"])
async def delete_me(session: SessionDep, principal: CurrentPrincipal) -> Response:
    await accounts.delete_account(session, principal.account_id)
    return Response(status_code=204)


@router.post("/me/phone", response_model=MeOut, tags=["me"])
async def set_phone(
    body: PhoneCodeIn, session: SessionDep, principal: CurrentPrincipal, wechat: WeChatDep
) -> MeOut:
    """The phone number from the Mini Program's getPhoneNumber button (optional)."""
    await accounts.set_phone(session, principal.account_id, wechat, body.code)
    return await accounts.me(session, principal)


@router.delete("/me/wechat", status_code=204, tags=["me"])
async def unlink_wechat(session: SessionDep, principal: CurrentPrincipal) -> Response:
    """A staff account forgets the WeChat it linked at staff-login; pushes stop reaching it."""
    await staff_accounts.unlink_wechat(session, principal.account_id)
    return Response(status_code=204)


@router.post("/me/password", status_code=204, tags=["me"])
async def change_password(
    body: PasswordChangeIn, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """A staff member's own change; their other sessions end (refresh tokens revoked)."""
    await staff_accounts.change_password(
        session, principal.account_id, body.current_password, body.new_password
    )
    return Response(status_code=204)


@router.post("/me/bindings", status_code=201, response_model=BindingOut, tags=["me"])
async def request_binding(
    body: BindingCreate, session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep
) -> BindingOut:
    """Verified at once only when the account's WeChat-verified phone (POST /me/phone) and the
    name match a roster owner of the room; otherwise pending. With a verified phone, `name`
    and `phone` may be left out (the roster's name, WeChat's phone)."""
    binding = await bindings.request_binding(
        session, settings, principal.account_id, body.room_id, body.relation, body.name, body.phone
    )
    return (await bindings.binding_views(session, [binding], principal))[0]


@router.post("/me/bindings/accept-invitation", status_code=201, response_model=BindingOut, tags=["me"])
async def accept_invitation(
    body: AcceptInvitationIn, session: SessionDep, principal: CurrentPrincipal
) -> BindingOut:
    binding = await households.accept_invitation(
        session, principal.account_id, body.invite_code, body.name, body.phone
    )
    return (await bindings.binding_views(session, [binding], principal))[0]


@router.delete("/me/bindings/{binding_id}", response_model=BindingOut, tags=["me"])
async def unbind(binding_id: str, session: SessionDep, principal: CurrentPrincipal) -> BindingOut:
    binding = await bindings.unbind(session, principal.account_id, binding_id)
    return (await bindings.binding_views(session, [binding], principal))[0]


@router.post("/me/bindings/{binding_id}/invitations", status_code=201, response_model=InvitationOut, tags=["me"])
async def invite(
    binding_id: str, body: InvitationCreate, session: SessionDep, principal: CurrentPrincipal
) -> InvitationOut:
    code, expires_at = await households.create_invitation(session, principal.account_id, binding_id, body.relation)
    return InvitationOut(invite_code=code, expires_at=expires_at)


@router.get("/me/bindings/{binding_id}/members", response_model=list[BindingOut], tags=["me"])
async def household_members(
    binding_id: str, session: SessionDep, principal: CurrentPrincipal
) -> list[BindingOut]:
    """The family members and tenants of the room of the caller's verified owner binding."""
    members = await households.household_members(session, principal.account_id, binding_id)
    return await bindings.binding_views(session, members, principal)


@router.delete(
    "/me/bindings/{binding_id}/members/{member_id}", response_model=BindingOut, tags=["me"]
)
async def remove_member(
    binding_id: str, member_id: str, session: SessionDep, principal: CurrentPrincipal
) -> BindingOut:
    """A verified owner removes a family member or tenant of their room."""
    member = await households.remove_member(session, principal.account_id, binding_id, member_id)
    return (await bindings.binding_views(session, [member], principal))[0]
