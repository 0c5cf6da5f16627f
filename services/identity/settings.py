"""Settings of the identity service (environment prefix IDENTITY_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings, data_dir


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    service_name: str = "identity"
    # Ed25519 private key (PEM) and its kid; when empty, one is generated under the data folder.
    signing_key_pem: str = ""
    signing_key_id: str = ""
    signing_key_file: Path = Field(default_factory=lambda: data_dir() / "identity-signing-key.json")
    access_token_ttl_seconds: int = 900
