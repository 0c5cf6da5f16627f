"""Settings of the repairs service (environment prefix REPAIRS_)."""

from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPAIRS_", extra="ignore")

    service_name: str = "repairs"
