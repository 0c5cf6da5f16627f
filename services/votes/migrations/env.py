"""Alembic environment of the votes service's own tables."""

from services.votes.models import Base
from services.common.migrations import run_env

run_env(Base.metadata)
