"""Staff use cases: add (or change) a manager or crew member of a community, list, remove."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import new_id, utcnow
from services.common.errors import Conflict, NotFound
from services.identity import events, rules
from services.identity.accounts import bump_roles_version, hash_password
from services.identity.models import Account, Staff


class StaffNotFound(NotFound):
    code = "staff_not_found"
    message = "员工不存在或已离职"


class UsernameTaken(Conflict):
    """A manager may add new usernames or staff of their own community; linking an account of
    another community is the platform admin's act. The answer is the same whatever the other
    account is, as when anyone picks a taken username."""

    code = "username_taken"
    message = "该用户名已被占用，请换一个"


async def add_staff(
    session: AsyncSession,
    cid: str,
    *,
    username: str,
    password: str | None,
    name: str,
    phone: str,
    role: str,
    department: str | None,
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
        account = Account(id=new_id(), username=username, password_hash=hash_password(password), name=name)
        session.add(account)
        await session.flush()
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
    events.staff_upserted(session, staff)
    return staff, initial_password


async def list_staff(
    session: AsyncSession, cid: str, after: tuple[datetime, str] | None, limit: int
) -> list[Staff]:
    query = select(Staff).where(Staff.community_id == cid, Staff.left_at.is_(None))
    if after:
        created, sid = after
        query = query.where((Staff.created_at > created) | ((Staff.created_at == created) & (Staff.id > sid)))
    query = query.order_by(Staff.created_at, Staff.id).limit(limit + 1)
    return list((await session.scalars(query)).all())


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
