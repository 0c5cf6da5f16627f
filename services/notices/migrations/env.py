"""Alembic environment of the notices service's own tables."""

from services.notices.models import Base
from services.common.migrations import run_env

run_env(Base.metadata)
