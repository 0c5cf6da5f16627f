"""A staff account's own settings: unlinking its WeChat (linked at staff-login, logins.py), its
password changed by the person, or reset by the platform admin or a manager of its community."""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import end_reads, execute_dml
from services.identity.errors import (
    NoPassword,
    PasswordResetForbidden,
    StaffNotFound,
    WeChatUnlinkNotAllowed,
    WrongPassword,
)
from services.identity.logins import (
    announce_openid,
    hash_password,
    revoke_all_refresh_tokens,
    verify_password,
)
from services.identity.models import Account, Staff


async def unlink_wechat(session: AsyncSession, account_id: str) -> None:
    """The staff account forgets its WeChat; pushes stop reaching it. An account that logs in
    only by WeChat (no username) cannot: it would lock itself out."""
    account = await session.get(Account, account_id)
    if account is None or account.deleted_at is not None:
        raise StaffNotFound()
    if account.username is None or account.password_hash is None:
        raise WeChatUnlinkNotAllowed()
    if account.openid is None:
        return
    account.openid = None
    await session.flush()
    await announce_openid(session, account)


async def change_password(
    session: AsyncSession, account_id: str, current: str, new: str
) -> None:
    """The person's own change, with the current password; every refresh token of the account
    ends (the other phones log in again)."""
    account = await session.get(Account, account_id)
    if account is None or account.deleted_at is not None:
        raise StaffNotFound()
    stored = account.password_hash
    if stored is None:
        raise NoPassword()
    # Argon2 (twice) outside any transaction; the hash is then set only if it is still the one
    # checked (a concurrent change or reset wins, this one answers as a wrong password).
    await end_reads(session)
    if not await verify_password(stored, current):
        raise WrongPassword()
    new_hash = await asyncio.to_thread(hash_password, new)
    changed = await execute_dml(
        session,
        update(Account)
        .where(Account.id == account.id, Account.password_hash == stored)
        .values(password_hash=new_hash),
    )
    if not changed:
        raise WrongPassword()
    await revoke_all_refresh_tokens(session, account.id)


async def reset_password(
    session: AsyncSession, principal: Principal, cid: str, staff_id: str
) -> str:
    """A new generated password for a staff member of `cid`, returned once (only its hash is
    kept); every refresh token of the account ends. A manager may not reset a platform admin
    or someone who is also staff of a community the manager does not manage (403)."""
    staff = await session.get(Staff, staff_id)
    if staff is None or staff.community_id != cid or staff.left_at is not None:
        raise StaffNotFound()
    account = await session.get(Account, staff.account_id)
    if account is None or account.deleted_at is not None or account.username is None:
        raise StaffNotFound()
    if not principal.platform_admin:
        other_communities = (
            await session.scalars(
                select(Staff.community_id).where(
                    Staff.account_id == account.id, Staff.left_at.is_(None)
                )
            )
        ).all()
        if account.platform_admin or any(
            not principal.is_manager_of(c) for c in other_communities
        ):
            raise PasswordResetForbidden()
    password = secrets.token_urlsafe(12)
    # Argon2 outside any transaction (everything above only read).
    await end_reads(session)
    account.password_hash = await asyncio.to_thread(hash_password, password)
    await revoke_all_refresh_tokens(session, account.id)
    await session.flush()
    return password
