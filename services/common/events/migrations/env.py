"""Alembic environment of the event machinery's tables (version table alembic_version_events)."""

from services.common.events.models import EventBase
from services.common.migrations import run_env

run_env(EventBase.metadata)
