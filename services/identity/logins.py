"""Login use cases: WeChat and staff login (with its failure limits), access and rotating
refresh tokens, the roles version that ends a staff role's tokens, the first platform admin."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.db import dialect_name, execute_dml, new_id, utcnow
from services.common.tokens import AccessClaims, SigningKey, issue_access_token
from services.identity import events, rules
from services.identity.errors import (
    AccountDisabled,
    InvalidRefreshToken,
    TooManyLoginAttempts,
    WeChatAlreadyLinked,
)
from services.identity.models import (
    Account,
    LoginFailure,
    RefreshToken,
    RoleChange,
    Staff,
)
from services.identity.settings import Settings
from services.identity.wechat import WeChatClient

# The logger keeps the name it had before logins left accounts.py (log queries use it).
log = logging.getLogger("identity.accounts")

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    account: Account


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def verify_password(stored: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    # Argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(check)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def staff_roles(session: AsyncSession, account_id: str) -> dict[str, dict[str, Any]]:
    rows = await session.execute(
        select(Staff.community_id, Staff.role, Staff.department).where(
            Staff.account_id == account_id, Staff.left_at.is_(None)
        )
    )
    return {cid: {"role": role, "department": dept} for cid, role, dept in rows}


async def issue_pair(
    session: AsyncSession,
    settings: Settings,
    key: SigningKey,
    account: Account,
    family_id: str | None = None,
) -> TokenPair:
    """A 15-minute access token (Ed25519, kid) and a new refresh token of the family."""
    claims = AccessClaims(
        account_id=account.id,
        platform_admin=account.platform_admin,
        staff=await staff_roles(session, account.id),
        name=account.name,
        # Services pass it to WeChat's content check (msgSecCheck v2 needs the user's openid).
        openid=account.openid,
        roles_version=account.roles_version,
    )
    access = issue_access_token(
        key,
        claims,
        ttl_seconds=settings.access_token_ttl_seconds,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )
    raw = "rt_" + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        RefreshToken(
            id=new_id(),
            account_id=account.id,
            family_id=family_id or new_id(),
            token_hash=_sha256(raw),
            created_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_ttl_days),
        )
    )
    await session.flush()
    return TokenPair(access, raw, settings.access_token_ttl_seconds, account)


async def wechat_login(
    session: AsyncSession, settings: Settings, key: SigningKey, wechat: WeChatClient, code: str
) -> TokenPair:
    identity = await wechat.code2session(code)
    account = await session.scalar(select(Account).where(Account.openid == identity.openid))
    if account is None:
        account = Account(id=new_id(), openid=identity.openid, unionid=identity.unionid)
        try:
            # Added inside the savepoint: begin_nested() flushes what is pending before it.
            async with session.begin_nested():
                session.add(account)
                await session.flush()
        except IntegrityError:
            # The same user logging in twice at once: the other request created the account.
            account = await session.scalar(select(Account).where(Account.openid == identity.openid))
            if account is None:
                raise
    elif identity.unionid and account.unionid != identity.unionid:
        account.unionid = identity.unionid
    return await issue_pair(session, settings, key, account)


@dataclass
class RefreshOutcome:
    pair: TokenPair | None
    reused: bool = False


async def refresh(session: AsyncSession, settings: Settings, key: SigningKey, raw: str) -> RefreshOutcome:
    """Rotates a refresh token. A token presented twice means it leaked: the whole family is
    revoked, and the caller must commit that before refusing (`reused=True`)."""
    token = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _sha256(raw)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise InvalidRefreshToken()
    claimed = await execute_dml(
        session,
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
        .values(used_at=now),
    )
    if claimed != 1:
        await revoke_family(session, token.family_id)
        log.warning("refresh token reused; family revoked", extra={"family_id": token.family_id})
        return RefreshOutcome(None, reused=True)
    account = await session.get(Account, token.account_id)
    if account is None or account.deleted_at is not None:
        raise InvalidRefreshToken()
    if await _staff_login_without_roles(session, account):
        # A username-only login whose last staff role ended: nothing left to log in to.
        raise InvalidRefreshToken()
    return RefreshOutcome(await issue_pair(session, settings, key, account, token.family_id))


async def _staff_login_without_roles(session: AsyncSession, account: Account) -> bool:
    if account.openid is not None or account.platform_admin:
        return False
    return not await staff_roles(session, account.id)


async def bump_roles_version(session: AsyncSession, account_id: str) -> None:
    """A staff role of the account ended or shrank: every access token issued before now is
    refused within seconds everywhere (services/common/role_changes.py); a refresh issues
    the current roles, so the person stays logged in to their other communities."""
    version = await session.scalar(
        update(Account)
        .where(Account.id == account_id)
        .values(roles_version=Account.roles_version + 1)
        .returning(Account.roles_version)
    )
    if version is not None:
        session.add(RoleChange(account_id=account_id, roles_version=version, changed_at=utcnow()))
        await session.flush()


async def recent_role_changes(
    session: AsyncSession, after: int, since: datetime, limit: int
) -> list[RoleChange]:
    """Changes after sequence number `after` and not older than `since`, oldest first."""
    rows = await session.scalars(
        select(RoleChange)
        .where(RoleChange.seq > after, RoleChange.changed_at >= since)
        .order_by(RoleChange.seq)
        .limit(limit)
    )
    return list(rows.all())


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all_refresh_tokens(session: AsyncSession, account_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def staff_login(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    key: SigningKey,
    username: str,
    password: str,
    ip: str,
    openid: str | None = None,
) -> TokenPair | None:
    """The token pair, or None for a wrong username or password. With `openid` (from the
    `wx.login` code the Mini Program sent along), the staff account is linked to that WeChat
    first (`link_wechat`); one linked to another account is refused (409) and
    no tokens are issued.

    Three short units of work, so the deliberately slow Argon2 check never runs inside a
    transaction (on SQLite that would hold the write lock for everybody):
    1. claim an attempt: under a per-username lock (PostgreSQL advisory lock; SQLite's
       `BEGIN IMMEDIATE` serialises anyway), check the limits and record the attempt as a
       failure, so concurrent guesses cannot all pass a count taken before any of them failed;
    2. verify the password, outside any transaction;
    3. on success, drop the claimed failure (and this address's earlier ones) and issue tokens.
    """
    username = username.strip()
    now = utcnow()
    since = now - timedelta(seconds=settings.login_failure_window_seconds)
    attempt_id = new_id()
    async with sessionmaker() as session, session.begin():
        if dialect_name(session) == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "staff-login:" + username}
            )
        pair_failures, user_failures, last_failure = (
            await session.execute(
                select(
                    func.count().filter(LoginFailure.ip == ip),
                    func.count(),
                    func.max(LoginFailure.created_at),
                ).where(LoginFailure.username == username, LoginFailure.created_at > since)
            )
        ).one()
        wait = rules.login_wait_seconds(
            pair_failures,
            user_failures,
            last_failure,
            now,
            pair_max=settings.login_max_failures,
            user_free=settings.login_user_free_failures,
            window_seconds=settings.login_failure_window_seconds,
        )
        if wait:
            raise TooManyLoginAttempts(headers={"Retry-After": str(wait)})
        # Old failures no longer count; dropping them here keeps the table small.
        await session.execute(delete(LoginFailure).where(LoginFailure.created_at <= since))
        session.add(LoginFailure(id=attempt_id, username=username, ip=ip, created_at=now))
        stored = (
            await session.execute(
                select(Account.id, Account.password_hash).where(
                    Account.username == username, Account.deleted_at.is_(None)
                )
            )
        ).first()
    if not await verify_password(stored.password_hash if stored else None, password):
        return None
    assert stored is not None
    # A hash made with older parameters is redone now, still outside any transaction.
    rehashed = (
        await asyncio.to_thread(hash_password, password)
        if _hasher.check_needs_rehash(stored.password_hash)
        else None
    )
    async with sessionmaker() as session, session.begin():
        await session.execute(
            delete(LoginFailure).where(
                (LoginFailure.id == attempt_id)
                | ((LoginFailure.username == username) & (LoginFailure.ip == ip))
            )
        )
        account = await session.get(Account, stored.id)
        if account is None or account.deleted_at is not None:
            return None
        if not account.platform_admin and not await staff_roles(session, account.id):
            raise AccountDisabled()
        if openid is None or not await openid_taken(session, account.id, openid):
            # (Else the right password: its failure claim goes, committed; the link does not.)
            if openid is not None:
                await link_wechat(session, account, openid)
            if rehashed is not None and account.password_hash == stored.password_hash:
                account.password_hash = rehashed
            return await issue_pair(session, settings, key, account)
    raise WeChatAlreadyLinked()


async def announce_openid(session: AsyncSession, account: Account) -> None:
    """Every live staff row of the account, re-sent with the account's openid (notices keeps
    it to address pushes; the replica takes the rest as before)."""
    rows = await session.scalars(
        select(Staff).where(Staff.account_id == account.id, Staff.left_at.is_(None))
    )
    for staff in rows:
        events.staff_upserted(session, staff, account.openid)


async def openid_taken(session: AsyncSession, account_id: str, openid: str) -> bool:
    """Whether another account (live or not) holds the openid."""
    other = await session.scalar(
        select(Account.id).where(Account.openid == openid, Account.id != account_id).limit(1)
    )
    return other is not None


async def link_wechat(session: AsyncSession, account: Account, openid: str) -> None:
    """Stores the openid on the staff account. One already held by another account is
    refused (409) with nothing changed; the same one again changes nothing."""
    if account.openid == openid:
        return
    if await openid_taken(session, account.id, openid):
        raise WeChatAlreadyLinked()
    try:
        # Two accounts linking the same WeChat at once: the unique openid lets one win.
        async with session.begin_nested():
            account.openid = openid
            await session.flush()
    except IntegrityError:
        raise WeChatAlreadyLinked() from None
    await announce_openid(session, account)


async def ensure_platform_admin(
    sessionmaker: async_sessionmaker[AsyncSession], username: str, password: str
) -> bool:
    """Creates the first platform admin when that username does not exist yet; an existing
    account is never touched. True when it was created."""
    username = username.strip()
    if not username or not password:
        return False
    async with sessionmaker() as session:
        if await session.scalar(select(Account.id).where(Account.username == username)):
            return False
    password_hash = await asyncio.to_thread(hash_password, password)  # outside any transaction
    async with sessionmaker() as session:
        session.add(
            Account(
                id=new_id(),
                username=username,
                password_hash=password_hash,
                name=username,
                platform_admin=True,
            )
        )
        try:
            await session.commit()
        except IntegrityError:  # another process created it first
            await session.rollback()
            return False
    log.info("platform admin created", extra={"username": username})
    return True
