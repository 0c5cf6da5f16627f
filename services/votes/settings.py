"""Settings of the votes service (environment prefix VOTES_)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VOTES_", extra="ignore")

    service_name: str = "votes"
    # Shared components whose tables live in this service's database (own migration histories).
    components: ClassVar[tuple[str, ...]] = ("identity_replica",)

    # How often the scheduler looks for votes to open, close or announce (0 turns it off).
    scheduler_interval_seconds: float = 5.0
    # `votes.vote.closing_soon` is emitted this long before closes_at.
    closing_soon_seconds: int = 24 * 3600
    # A reminder to a vote's non-voters goes at most once per this many hours (turnout.py).
    reminder_interval_hours: float = 24.0
