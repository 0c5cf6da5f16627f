"""Token verification for services and the gateway: JWKS cached and refreshed, and the
`CurrentPrincipal` dependency that every authenticated route takes."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request

from services.common.errors import (
    Forbidden,
    InvalidToken,
    MissingToken,
    NotFound,
    RolesChanged,
    ServiceUnavailable,
    TokenExpired,
)
from services.common.role_changes import Fetch, RoleChanges, http_fetch
from services.common.tokens import ALGORITHMS, DEFAULT_AUDIENCE, DEFAULT_ISSUER

log = logging.getLogger("auth")


@dataclass(frozen=True)
class Principal:
    """The verified bearer of an access token."""

    account_id: str
    platform_admin: bool = False
    staff: dict[str, dict[str, Any]] = field(default_factory=dict)
    name: str | None = None
    # The WeChat openid of a Mini Program user, when identity put it in the token (msgSecCheck v2).
    openid: str | None = None
    # The account's roles version when the token was issued (role_changes.py).
    roles_version: int = 0

    def staff_role(self, community_id: str) -> str | None:
        entry = self.staff.get(str(community_id))
        return entry.get("role") if entry else None

    def department(self, community_id: str) -> str | None:
        entry = self.staff.get(str(community_id))
        return entry.get("department") if entry else None

    def is_manager_of(self, community_id: str) -> bool:
        return self.platform_admin or self.staff_role(community_id) == "manager"

    def is_staff_of(self, community_id: str) -> bool:
        return self.platform_admin or str(community_id) in self.staff


class TokenVerifier:
    """Verifies access tokens against identity's JWKS.

    Keys are cached; an unknown `kid` triggers a refresh (at most every `min_refresh_seconds`,
    so a flood of forged kids cannot hammer identity), and the cache expires after `ttl_seconds`
    so rotated-out keys stop being accepted.

    A token that passed is remembered until its own `exp` (at most `max_cached` of them), so a
    client's repeated calls cost one signature check and one decode: on vote day's reads the
    Ed25519 check and PyJWT's parsing were a large share of a request. Failures are never
    cached, and the roles-version check runs on every call, cached or not.
    """

    def __init__(
        self,
        *,
        jwks_url: str | None = None,
        jwks: dict[str, Any] | None = None,
        http_client: httpx.AsyncClient | None = None,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        ttl_seconds: float = 600.0,
        min_refresh_seconds: float = 10.0,
        role_changes: RoleChanges | None = None,
        max_cached: int = 50_000,
    ) -> None:
        # Recent role changes: a token issued before its bearer's roles changed is refused.
        self.role_changes = role_changes or RoleChanges()
        self._jwks_url = jwks_url
        self._http = http_client
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._static = jwks is not None
        self._lock = asyncio.Lock()
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._max_cached = max_cached
        if jwks is not None:
            self._load(jwks)

    def trust_keys(self, document: dict[str, Any]) -> None:
        """From now on, these keys and no others, never fetched (identity trusts its own)."""
        self._static = True
        self._load(document)

    def _load(self, document: dict[str, Any]) -> None:
        keys = {}
        for entry in document.get("keys", []):
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry).key
            except Exception:  # a malformed key in the set must not hide the good ones
                log.warning("skipping unusable JWK", extra={"kid": entry.get("kid")})
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def _refresh(self, *, force: bool) -> None:
        if self._static or not self._jwks_url or self._http is None:
            return
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if self._keys and age < (self._min_refresh if force else self._ttl):
                return
            try:
                response = await self._http.get(self._jwks_url, timeout=3.0)
                response.raise_for_status()
                self._load(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("JWKS fetch failed", extra={"error": type(exc).__name__})
                if not self._keys:
                    raise ServiceUnavailable("身份服务暂时不可用，请稍后再试") from exc

    async def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            if hit[1] > time.time():
                # The signature holds until exp; the roles may not (role_changes.py).
                self.check_current(hit[0])
                return hit[0]
            del self._verified[token]
        principal, expires = await self._verify_signed(token)
        self.check_current(principal)
        self._remember(token, principal, expires)
        return principal

    def _remember(self, token: str, principal: Principal, expires: float) -> None:
        if self._max_cached <= 0:
            return
        if len(self._verified) >= self._max_cached:
            now = time.time()
            self._verified = {t: e for t, e in self._verified.items() if e[1] > now}
            if len(self._verified) >= self._max_cached:
                self._verified.clear()
        self._verified[token] = (principal, expires)

    async def _verify_signed(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") not in ALGORITHMS:
            raise InvalidToken()
        if time.monotonic() - self._fetched_at > self._ttl:
            await self._refresh(force=False)
        if kid not in self._keys:
            await self._refresh(force=True)
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken()
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired() from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        if claims.get("typ") != "access":
            raise InvalidToken()
        staff = claims.get("staff") or {}
        if not isinstance(staff, dict):
            raise InvalidToken()
        roles_version = claims.get("rv", 0)
        if not isinstance(roles_version, int) or isinstance(roles_version, bool):
            raise InvalidToken()
        principal = Principal(
            account_id=str(claims["sub"]),
            platform_admin=bool(claims.get("adm", False)),
            staff=staff,
            name=claims.get("name"),
            openid=claims.get("openid") if isinstance(claims.get("openid"), str) else None,
            roles_version=roles_version,
        )
        return principal, float(claims["exp"])

    def check_current(self, principal: Principal) -> None:
        """Refuses a token issued before its bearer's roles last changed (401 `roles_changed`:
        the client refreshes and gets the current roles)."""
        if self.role_changes.is_stale(principal.account_id, principal.roles_version):
            raise RolesChanged()


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def verifier_from_settings(
    settings: Any, http_client: httpx.AsyncClient, fetch: Fetch | None = None
) -> TokenVerifier:
    """The verifier of a service or the gateway; `fetch` pulls role changes (identity reads its
    own table), else they come from identity over HTTP."""
    static = json.loads(settings.jwks_json) if settings.jwks_json else None
    role_changes = RoleChanges(
        fetch or http_fetch(http_client, settings.role_changes_url),
        settings.role_changes_poll_seconds,
    )
    return TokenVerifier(
        role_changes=role_changes,
        jwks_url=settings.jwks_url,
        jwks=static,
        http_client=http_client,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )


async def _current_principal(request: Request) -> Principal:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise MissingToken()
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(token)
    request.state.principal = principal
    return principal


async def _platform_admin(principal: Annotated[Principal, Depends(_current_principal)]) -> Principal:
    if not principal.platform_admin:
        raise Forbidden("仅平台管理员可以执行此操作")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]
PlatformAdmin = Annotated[Principal, Depends(_platform_admin)]


class CommunityNotFound(NotFound):
    """The one answer to "you do not manage this community": whether it exists is nobody
    else's business, so unknown and foreign look the same."""

    code = "community_not_found"
    message = "小区不存在"


def require_manager(
    principal: Principal,
    community_id: str,
    not_found: type[NotFound] = CommunityNotFound,
) -> None:
    """The one "manages this community" check (a manager of it, or a platform admin).

    Asked about an object of the community (a vote, a notice, a binding), pass that object's
    not-found error: answering about its community would tell a stranger the object exists."""
    if not principal.is_manager_of(community_id):
        raise not_found()


def require_staff(principal: Principal, community_id: str) -> None:
    """Any staff role in the community (or a platform admin); same answer as `require_manager`."""
    if not principal.is_staff_of(community_id):
        raise CommunityNotFound()


async def _managed_community(community_id: str, principal: CurrentPrincipal) -> str:
    require_manager(principal, community_id)
    return community_id


# The community id of a route (`{community_id}` in the path, else `?community_id=`), once the
# caller is known to manage it.
ManagedCommunity = Annotated[str, Depends(_managed_community)]
