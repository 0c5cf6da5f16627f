"""Settings of the votes service (environment prefix VOTES_)."""

from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VOTES_", extra="ignore")

    service_name: str = "votes"
