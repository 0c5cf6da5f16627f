"""Settings of the notices service (environment prefix NOTICES_)."""

from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTICES_", extra="ignore")

    service_name: str = "notices"
