"""Alembic environment of the repairs service's own tables."""

from services.repairs.models import Base
from services.common.migrations import run_env

run_env(Base.metadata)
