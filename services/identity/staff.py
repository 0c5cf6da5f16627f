"""Staff use cases: add (or change) a manager or crew member of a community, list, remove."""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import end_reads, new_id, utcnow
from services.common.pagination import Keyset, keyset_page
from services.identity import events, rules
from services.identity.errors import StaffNotFound, UsernameTaken
from services.identity.logins import bump_roles_version, hash_password
from services.identity.models import Account, Staff
from services.identity.rules import Department, Role
from services.identity.schemas import StaffOut

# Staff are listed in the order they joined.
_OLDEST_FIRST = Keyset((Staff.created_at, Staff.id), ("datetime", "str"), descending=False)


def staff_view(staff: Staff, phone: str | None) -> StaffOut:
    """A staff member as the API shows them, with `phone` as the viewer may see it."""
    return StaffOut(
        id=staff.id,
        community_id=staff.community_id,
        account_id=staff.account_id,
        name=staff.name,
        phone=phone,
        role=staff.role,
        department=staff.department,
        created_at=staff.created_at,
    )


async def add_staff(
    session: AsyncSession,
    cid: str,
    *,
    username: str,
    password: str | None,
    name: str,
    phone: str,
    role: Role,
    department: Department | None,
    by_platform_admin: bool = False,
) -> tuple[Staff, str | None]:
    """Creates the login when the username is new (with the given or a generated password,
    returned once); an existing login keeps its password. Re-adding updates the role; a role
    that shrinks (or a department that changes) ends the old tokens' rights at once."""
    username = username.strip()
    initial_password: str | None = None
    account = await session.scalar(select(Account).where(Account.username == username))
    if account is not None and not by_platform_admin:
        own = await session.scalar(
            select(Staff.id).where(Staff.community_id == cid, Staff.account_id == account.id)
        )
        if own is None or account.platform_admin:
            raise UsernameTaken()
    if account is None:
        if not password:
            password = initial_password = secrets.token_urlsafe(12)
        # Argon2 off the event loop and outside any transaction (the checks above only read).
        await end_reads(session)
        password_hash = await asyncio.to_thread(hash_password, password)
        account = Account(id=new_id(), username=username, password_hash=password_hash, name=name)
        session.add(account)
        try:
            await session.flush()
        except IntegrityError as exc:  # the same username, created meanwhile
            raise UsernameTaken() from exc
    staff = await session.scalar(
        select(Staff).where(Staff.community_id == cid, Staff.account_id == account.id)
    )
    if staff is None:
        staff = Staff(id=new_id(), community_id=cid, account_id=account.id, created_at=utcnow())
        session.add(staff)
    elif staff.left_at is None and (staff.role, staff.department) != (role, department):
        await bump_roles_version(session, account.id)
    staff.role = role
    staff.department = department
    staff.name = rules.normalize_name(name)
    staff.phone = rules.normalize_phone(phone)
    staff.left_at = None
    await session.flush()
    events.staff_upserted(session, staff, account.openid)
    return staff, initial_password


async def list_staff(
    session: AsyncSession, cid: str, viewer: Principal, cursor: str | None, limit: int
) -> tuple[list[StaffOut], str | None]:
    """One page of the community's current staff; phones shown to the community's managers
    and to each person, masked otherwise."""
    query = select(Staff).where(Staff.community_id == cid, Staff.left_at.is_(None))
    rows, next_cursor = await keyset_page(session, query, _OLDEST_FIRST, limit, cursor)
    views = [
        staff_view(
            s,
            rules.phone_for_viewer(
                s.phone,
                owner_account_id=s.account_id,
                viewer_account_id=viewer.account_id,
                viewer_manages_community=viewer.is_manager_of(cid),
            ),
        )
        for s in rows
    ]
    return views, next_cursor


async def remove_staff(session: AsyncSession, cid: str, staff_id: str) -> Staff:
    """The person left: the role ends now and the access tokens they hold are refused within
    seconds everywhere (roles version); their next refresh carries no role here, so they stay
    logged in to their other communities. Consumers hear `identity.staff.removed`."""
    staff = await session.get(Staff, staff_id)
    if staff is None or staff.community_id != cid or staff.left_at is not None:
        raise StaffNotFound()
    staff.left_at = utcnow()
    await bump_roles_version(session, staff.account_id)
    await session.flush()
    events.staff_removed(session, staff)
    return staff
