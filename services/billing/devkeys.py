"""Development WeChat Pay keys: a merchant key pair, a platform key pair and an APIv3 key,
generated once under DATA_DIR/wechatpay (never committed) and read by billing and the
stand-in alike, so they agree without configuration. Production sets the merchant private
key, the platform public key and the APIv3 key in the environment instead."""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common.settings import data_dir

KEYS_FILE = "wechatpay-dev-keys.json"


@dataclass(frozen=True)
class PayKeys:
    merchant_serial: str
    merchant_private_key: str
    merchant_public_key: str
    platform_key_id: str
    platform_private_key: str
    platform_public_key: str
    apiv3_key: str


def _pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


def generate() -> PayKeys:
    merchant_private, merchant_public = _pair()
    platform_private, platform_public = _pair()
    alphabet = string.ascii_letters + string.digits
    return PayKeys(
        merchant_serial=secrets.token_hex(20).upper(),
        merchant_private_key=merchant_private,
        merchant_public_key=merchant_public,
        platform_key_id="PUB_KEY_ID_" + secrets.token_hex(12).upper(),
        platform_private_key=platform_private,
        platform_public_key=platform_public,
        apiv3_key="".join(secrets.choice(alphabet) for _ in range(32)),
    )


def dev_keys(folder: Path | None = None) -> PayKeys:
    """The machine's development keys, created atomically on first use."""
    path = (folder or data_dir()) / KEYS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        tmp.write_text(json.dumps(generate().__dict__))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # the first writer wins; the others read its keys
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return PayKeys(**json.loads(path.read_text()))
