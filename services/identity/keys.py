"""Identity's token signing keys: loaded from settings or a file under the data folder,
generated once on first start. Only public keys ever leave the service (JWKS)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from services.common.tokens import SigningKey


def load_or_create_signing_key(key_file: Path, pem_from_env: str = "", kid_from_env: str = "") -> SigningKey:
    if pem_from_env:
        return SigningKey.from_pem(kid_from_env or "env", pem_from_env.encode())
    if key_file.exists():
        stored = json.loads(key_file.read_text())
        return SigningKey.from_pem(stored["kid"], stored["pem"].encode())
    key = SigningKey.generate()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = key_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"kid": key.kid, "pem": key.to_pem().decode()}))
    os.chmod(tmp, 0o600)
    # Two processes starting at once: the first rename wins and both read the winner.
    if not key_file.exists():
        tmp.replace(key_file)
    else:
        tmp.unlink()
    stored = json.loads(key_file.read_text())
    return SigningKey.from_pem(stored["kid"], stored["pem"].encode())
