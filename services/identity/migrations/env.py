"""Alembic environment of the identity service's own tables."""

from services.common.migrations import run_env
from services.identity.models import Base

run_env(Base.metadata)
