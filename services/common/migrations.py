"""Runs a service's Alembic migrations programmatically, and the shared body of every env.py.

Usage: `python -m services.common.migrations upgrade [identity repairs votes notices billing]`.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, pool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SERVICES_ROOT = Path(__file__).resolve().parent.parent

# Every service database holds two migration histories: the service's own tables, and the
# event machinery's tables (outbox, deliveries, inbox), versioned separately so that the
# shared plumbing and each service evolve without tangling one linear history.
# Shared components with tables of their own: name -> (script location, version table).
# Every service has "events"; a service lists the others it uses in `Settings.components`.
COMPONENTS = {
    "events": (SERVICES_ROOT / "common" / "events" / "migrations", "alembic_version_events"),
    "identity_replica": (
        SERVICES_ROOT / "common" / "identity_replica" / "migrations",
        "alembic_version_identity_replica",
    ),
}


def _histories(service: str) -> list[tuple[Path, str]]:
    settings_cls = importlib.import_module(f"services.{service}.settings").Settings
    components = ["events", *getattr(settings_cls, "components", ())]
    return [(SERVICES_ROOT / service / "migrations", "alembic_version")] + [
        COMPONENTS[name] for name in components
    ]


def alembic_config(script_location: Path, database_url: str, version_table: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("path_separator", "os")
    # "%" would be read as interpolation by configparser.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    cfg.attributes["version_table"] = version_table
    return cfg


def head_revisions(service: str) -> dict[str, str | None]:
    """The head of each history of a service's database, by version table."""
    heads = {}
    for location, table in _histories(service):
        script = ScriptDirectory.from_config(alembic_config(location, "sqlite://", table))
        heads[table] = script.get_current_head()
    return heads


def upgrade(service: str, database_url: str) -> None:
    for location, table in _histories(service):
        command.upgrade(alembic_config(location, database_url, table), "head")


def downgrade(service: str, database_url: str) -> None:
    for location, table in reversed(_histories(service)):
        command.downgrade(alembic_config(location, database_url, table), "base")


async def current_revisions(engine: AsyncEngine, service: str) -> dict[str, str | None]:
    def _read(conn: Connection) -> dict[str, str | None]:
        return {
            table: MigrationContext.configure(
                conn, opts={"version_table": table}
            ).get_current_revision()
            for _, table in _histories(service)
        }

    async with engine.connect() as conn:
        return await conn.run_sync(_read)


def run_env(target_metadata: MetaData) -> None:
    """The body of each service's migrations/env.py (online mode, async engine)."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            version_table=context.config.attributes.get("version_table", "alembic_version"),
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=target_metadata,
            literal_binds=True,
            version_table=context.config.attributes.get("version_table", "alembic_version"),
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    # Alembic may be called from inside a running loop (tests, app start-up): run in a thread.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run_async())
    else:
        import threading

        errors: list[BaseException] = []

        def runner() -> None:
            try:
                asyncio.run(run_async())
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)

        t = threading.Thread(target=runner)
        t.start()
        t.join()
        if errors:
            raise errors[0]


def settings_for(service: str) -> Any:
    module = importlib.import_module(f"services.{service}.settings")
    return module.Settings()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("upgrade", "downgrade", "current"):
        print("usage: python -m services.common.migrations upgrade|downgrade [service ...]")
        return 2
    action, names = argv[0], argv[1:] or ["identity", "repairs", "votes", "notices", "billing"]
    for name in names:
        settings = settings_for(name)
        if settings.database_url.startswith("sqlite"):
            path = settings.database_url.split("///", 1)[-1]
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if action == "upgrade":
            upgrade(name, settings.database_url)
        elif action == "downgrade":
            downgrade(name, settings.database_url)
        print(f"{name}: {action} done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
