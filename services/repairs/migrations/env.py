"""Alembic environment of the repairs service's own tables."""

from services.common.migrations import run_env
from services.repairs.models import Base

run_env(Base.metadata)
