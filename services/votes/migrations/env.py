"""Alembic environment of the votes service's own tables."""

from services.common.migrations import run_env
from services.votes.models import Base

run_env(Base.metadata)
