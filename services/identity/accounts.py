"""Account use cases: the WeChat-verified phone, `GET /me` and deleting one's own account."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import utcnow
from services.identity import events, rules
from services.identity.bindings import (
    binding_views,
    live_account,
    revoke_binding,
    verify_pending_by_phone,
)
from services.identity.logins import bump_roles_version, revoke_all_refresh_tokens, staff_roles
from services.identity.models import Account, Binding, Staff
from services.identity.schemas import (
    AccountOut,
    HouseholdMember,
    MeOut,
    ResidentRole,
    Roles,
    StaffRole,
)
from services.identity.wechat import WeChatClient


async def set_phone(session: AsyncSession, account_id: str, wechat: WeChatClient, code: str) -> Account:
    """The phone WeChat verified (getPhoneNumber); pending owner claims it matches on the
    roster are verified now."""
    account = await live_account(session, account_id)
    account.phone = rules.normalize_phone(await wechat.phone_number(code))
    await session.flush()
    await verify_pending_by_phone(session, account)
    return account


async def me(session: AsyncSession, principal: Principal) -> MeOut:
    account = await live_account(session, principal.account_id)
    # My bindings and the households hanging off my verified owner bindings in one query,
    # their rooms in one more (binding_views): `GET /me` is the Mini Program's most frequent
    # call, so it costs four statements, not six.
    my_owner_ids = (
        select(Binding.id)
        .where(
            Binding.account_id == account.id,
            Binding.relation == "owner",
            Binding.status == "verified",
        )
        .scalar_subquery()
    )
    rows = list(
        (
            await session.scalars(
                select(Binding)
                .where(
                    (Binding.account_id == account.id)
                    | (
                        Binding.parent_binding_id.in_(my_owner_ids)
                        & Binding.status.in_(rules.LIVE_STATUSES)
                    )
                )
                .order_by(Binding.created_at, Binding.id)
            )
        ).all()
    )
    bindings = [b for b in rows if b.account_id == account.id]
    # The household hanging off each of my verified owner bindings, phones masked.
    owner_ids = {b.id for b in bindings if b.relation == "owner" and b.status == "verified"}
    members = [
        b for b in rows if b.parent_binding_id in owner_ids and b.status in rules.LIVE_STATUSES
    ]
    all_views = await binding_views(session, bindings + members, principal)
    views, member_views = all_views[: len(bindings)], all_views[len(bindings) :]
    for view in views:
        view.household = [
            HouseholdMember(
                id=m.id,
                relation=m.relation,
                name=m.name,
                phone=m.phone,
                status=m.status,
                display_name=m.display_name,
            )
            for m in member_views
            if m.parent_binding_id == view.id
        ]
    staff = await staff_roles(session, account.id)
    verified = [v for v in views if v.status == "verified"]
    return MeOut(
        account=AccountOut(
            id=account.id,
            name=account.name,
            phone=account.phone,
            username=account.username,
            created_at=account.created_at,
        ),
        display_name=rules.account_display_name([v.display_name for v in verified], account.name),
        roles=Roles(
            platform_admin=account.platform_admin,
            staff=[
                StaffRole(community_id=cid, role=entry["role"], department=entry["department"])
                for cid, entry in sorted(staff.items())
            ],
            residents=[
                ResidentRole(community_id=v.community_id, room_id=v.room_id, relation=v.relation)
                for v in verified
            ],
        ),
        bindings=views,
    )


async def delete_account(session: AsyncSession, account_id: str) -> None:
    """Bindings revoked (with events, and what hangs off them), staff roles ended, personal
    data erased; one `identity.account.deleted` per community the account was known in."""
    account = await live_account(session, account_id)
    bindings = (await session.scalars(select(Binding).where(Binding.account_id == account_id))).all()
    staff_rows = (await session.scalars(select(Staff).where(Staff.account_id == account_id))).all()
    communities = {b.community_id for b in bindings} | {s.community_id for s in staff_rows}
    for binding in bindings:
        await revoke_binding(session, binding, "account_deleted")
    for binding in bindings:
        binding.name = ""
        binding.phone = None
    for staff in staff_rows:
        if staff.left_at is None:
            staff.left_at = utcnow()
            events.staff_removed(session, staff)
        staff.name = ""
        staff.phone = None
    await revoke_all_refresh_tokens(session, account_id)
    await bump_roles_version(session, account_id)  # its live access tokens stop too
    account.openid = None
    account.unionid = None
    account.username = None
    account.password_hash = None
    account.name = None
    account.phone = None
    account.deleted_at = utcnow()
    for cid in sorted(communities):
        events.account_deleted(session, account_id, cid)
    await session.flush()
