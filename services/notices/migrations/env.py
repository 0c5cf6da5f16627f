"""Alembic environment of the notices service's own tables."""

from services.common.migrations import run_env
from services.notices.models import Base

run_env(Base.metadata)
