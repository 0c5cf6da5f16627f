"""Access tokens: Ed25519-signed JWTs with `kid`, and their public keys as a JWKS document.

Identity signs; every service and the gateway verify with the published public keys only.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

ALGORITHMS = ["EdDSA"]
DEFAULT_ISSUER = "xiaoqu-identity"
DEFAULT_AUDIENCE = "xiaoqu"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(kid=uuid.uuid4().hex[:16], private_key=Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, kid: str, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("signing key must be Ed25519")
        return cls(kid=kid, private_key=key)

    def to_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(OKPAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}


def jwks_document(keys: list[SigningKey]) -> dict[str, Any]:
    return {"keys": [k.public_jwk() for k in keys]}


@dataclass
class AccessClaims:
    """What an access token says about its bearer."""

    account_id: str
    platform_admin: bool = False
    # community_id -> {"role": "manager" | "crew", "department": str | None}
    staff: dict[str, dict[str, Any]] = field(default_factory=dict)
    name: str | None = None
    # WeChat openid of a Mini Program user (services pass it to msgSecCheck v2).
    openid: str | None = None
    # The account's roles version (services/common/role_changes.py).
    roles_version: int = 0


def issue_access_token(
    key: SigningKey,
    claims: AccessClaims,
    *,
    ttl_seconds: int = 900,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    now: float | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    payload = {
        "iss": issuer,
        "aud": audience,
        "sub": claims.account_id,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "adm": claims.platform_admin,
        "staff": claims.staff,
        "rv": claims.roles_version,
    }
    if claims.name:
        payload["name"] = claims.name
    if claims.openid:
        payload["openid"] = claims.openid
    return jwt.encode(payload, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
