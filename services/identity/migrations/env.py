"""Alembic environment of the identity service's own tables."""

from services.identity.models import Base
from services.common.migrations import run_env

run_env(Base.metadata)
